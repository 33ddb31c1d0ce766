import { readFileSync } from 'node:fs';
import { validateBcc } from '../../generated/validators.js';
import type { Problem } from '../../manifest/problem.js';
import { parseYamlFile } from '../../manifest/yaml-file.js';
import { findInPath } from '../../runtime/environment.js';

export interface BccArg {
  input: string;
  flag?: string;
  option?: string;
}

export interface BccVariant {
  command?: string;
  bpftrace_script?: string;
  line_buffered?: boolean;
  fixed_args?: string[];
  args?: BccArg[];
}

export interface BccSpec {
  tool: string;
  description?: string;
  variants: BccVariant[];
}

export function loadBccSpec(file: string): { spec?: BccSpec; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { problems: [{ file, line: 1, col: 1, message: `cannot read bcc spec: ${(e as Error).message}`, kind: 'bcc' }] };
  }
  const parsed = parseYamlFile(file, text, validateBcc);
  if (parsed.problems.length) return { problems: parsed.problems };
  return { spec: parsed.value as BccSpec, problems: [] };
}

const COMMAND_DIRS = ['/usr/sbin', '/usr/share/bcc/tools', '/usr/local/sbin'];
const SCRIPT_DIRS = ['/usr/sbin', '/usr/share/bpftrace/tools', '/usr/local/share/bpftrace/tools'];

export interface ResolvedBccCommand {
  /** argv[0] is an absolute path. For a .bt script, the caller prepends bpftrace. */
  argv: string[];
  viaBpftrace: boolean;
  lineBuffered: boolean;
  variant: string;
}

export class BccUnavailableError extends Error {}

/**
 * Picks the first installed variant and maps input properties to its arguments. An input the
 * chosen variant cannot honour is an error rather than being silently ignored.
 */
export function resolveBccCommand(spec: BccSpec, input: Record<string, unknown>, runtimeKeys: Set<string>): ResolvedBccCommand {
  const tried: string[] = [];
  for (const v of spec.variants) {
    const name = v.command ?? v.bpftrace_script!;
    const found = v.command ? findInPath(v.command, COMMAND_DIRS) : findInPath(v.bpftrace_script!, SCRIPT_DIRS, 'read');
    if (!found) {
      tried.push(name);
      continue;
    }
    const argv = [found, ...(v.fixed_args ?? [])];
    const handled = new Set((v.args ?? []).map((a) => a.input));
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined || value === false || runtimeKeys.has(key) || handled.has(key)) continue;
      throw new BccUnavailableError(
        `${name} (the installed variant of ${spec.tool}) does not support the "${key}" option; ` +
          `remove it, or install libbpf-tools (apt-get install -y libbpf-tools) for the full tool`,
      );
    }
    for (const a of v.args ?? []) {
      const value = input[a.input];
      if (value === undefined || value === false) continue;
      if (a.flag) argv.push(a.flag);
      else argv.push(a.option!, String(value));
    }
    return { argv, viaBpftrace: !v.command, lineBuffered: v.line_buffered ?? true, variant: name };
  }
  throw new BccUnavailableError(`${spec.tool} is not installed: looked for ${tried.join(', ')}. Install it with: apt-get install -y libbpf-tools bpftrace`);
}
