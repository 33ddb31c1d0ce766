import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { validateBcc } from '../../generated/validators.js';
import type { Problem } from '../../manifest/problem.js';
import { parseYamlFile } from '../../manifest/yaml-file.js';
import { findInPath, usableFile } from '../../runtime/environment.js';
import type { ColumnType } from '../../runtime/output-decoder.js';

export interface BccArg {
  input: string;
  flag?: string;
  option?: string;
  positional?: true;
}

export interface BccVariant {
  command?: string;
  bpftrace_script?: string;
  package?: string;
  line_buffered?: boolean;
  fixed_args?: string[];
  duration_args?: string[];
  args?: BccArg[];
}

export interface BccSpec {
  tool: string;
  purpose?: string;
  description?: string;
  needs?: 'kprobes'[];
  output?: { columns?: Record<string, ColumnType | 'skip'>; histograms?: boolean };
  versions?: { version: string; note: string }[];
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

/**
 * A launcher for libbpf-tools from elsewhere (e.g. /srv/mcptrace-roots/bin/libbpf-sid, which
 * runs a Debian root's tool): called as `RUNNER TOOL ARGS...` in place of the host's binary.
 * This is how the same catalog is checked against another libbpf-tools version.
 */
export const LIBBPF_RUNNER_ENV = 'MCPTRACE_LIBBPF_RUNNER';

export const variantName = (v: BccVariant): string => v.command ?? v.bpftrace_script!;

/** The Debian package that installs a provider. */
export function variantPackage(v: BccVariant): string {
  if (v.package) return v.package;
  if (v.bpftrace_script) return 'bpftrace';
  return v.command!.endsWith('-bpfcc') ? 'bpfcc-tools' : 'libbpf-tools';
}

export interface ResolvedBccCommand {
  /** argv[0] is an absolute path. For a .bt script, the caller prepends bpftrace. */
  argv: string[];
  viaBpftrace: boolean;
  lineBuffered: boolean;
  variant: string;
  /** The tool ends itself after the duration (its own flag), so no SIGINT is needed for it. */
  endsItself: boolean;
}

export class BccUnavailableError extends Error {}

/**
 * How to start a provider: its path, or the libbpf runner that takes the tool's name as its
 * first argument. Undefined when it is not installed. Debian 13 names libbpf-tools `TOOL-libbpf`.
 */
export function locateVariant(v: BccVariant, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (v.bpftrace_script) return optional(inDirs(v.bpftrace_script, [...SCRIPT_DIRS, ...allowedDirs(env)], 'read'));
  const libbpf = variantPackage(v) === 'libbpf-tools';
  // The runner is the operator's (an environment variable), never a manifest's.
  const runner = libbpf ? env[LIBBPF_RUNNER_ENV] : undefined;
  if (runner) return optional(findInPath(runner), v.command!);
  const dirs = [...COMMAND_DIRS, ...allowedDirs(env)];
  const found = inDirs(v.command!, dirs) ?? (libbpf ? inDirs(`${v.command!}-libbpf`, dirs) : undefined);
  return optional(found && isTracingTool(found, env) ? found : undefined);
}

/** Every path locateVariant could find a provider at on a host without an operator's extra directories. */
export function variantCandidates(v: BccVariant): { path: string; mode: 'exec' | 'read' }[] {
  if (v.bpftrace_script) return SCRIPT_DIRS.map((d) => ({ path: path.join(d, v.bpftrace_script!), mode: 'read' as const }));
  const names = variantPackage(v) === 'libbpf-tools' ? [v.command!, `${v.command!}-libbpf`] : [v.command!];
  return names.flatMap((n) => COMMAND_DIRS.map((d) => ({ path: path.join(d, n), mode: 'exec' as const })));
}

/**
 * locateVariant for another host, from what its probe found: `files` exist there, and `tools` of
 * them are tracing tools (a tracing package's file, or in bcc's tools directory), as isTracingTool
 * asks here. The first candidate in locateVariant's order wins.
 */
export function locateRemoteVariant(v: BccVariant, files: ReadonlySet<string>, tools: ReadonlySet<string>): string[] | undefined {
  for (const c of variantCandidates(v)) {
    if (c.mode === 'read' ? files.has(c.path) : tools.has(c.path)) return [c.path];
  }
  return undefined;
}

/**
 * A spec runs as root, so what it may name is a tracing tool, never any binary: one a tracing
 * package installed (libbpf-tools, bpfcc-tools, bpftrace: their dpkg file lists), one in bcc's
 * tools directory, or one in a directory the operator allowed with MCPTRACE_BCC_ALLOW_DIRS.
 * `command: sh`, or /usr/sbin/reboot, is "not installed".
 */
export function isTracingTool(file: string, env: NodeJS.ProcessEnv = process.env): boolean {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return false;
  }
  if ([BCC_TOOLS_DIR, ...allowedDirs(env)].some((d) => real.startsWith(`${d}/`))) return true;
  return packagedTools().has(real) || packagedTools().has(file);
}

export const BCC_ALLOW_DIRS_ENV = 'MCPTRACE_BCC_ALLOW_DIRS';
const BCC_TOOLS_DIR = '/usr/share/bcc/tools';
const TRACING_PACKAGES = ['libbpf-tools', 'bpfcc-tools', 'bpftrace'];

const allowedDirs = (env: NodeJS.ProcessEnv) => (env[BCC_ALLOW_DIRS_ENV] ?? '').split(':').filter((d) => d.startsWith('/'));

let packaged: Set<string> | undefined;
/** The files the tracing packages installed, from dpkg's lists (read once). */
function packagedTools(): Set<string> {
  if (packaged) return packaged;
  packaged = new Set();
  for (const pkg of TRACING_PACKAGES) {
    for (const list of [`/var/lib/dpkg/info/${pkg}.list`, `/var/lib/dpkg/info/${pkg}:amd64.list`]) {
      try {
        for (const line of readFileSync(list, 'utf8').split('\n')) if (line.startsWith('/usr/')) packaged.add(line);
      } catch {
        /* not installed */
      }
    }
  }
  return packaged;
}

/** The first `name` in `dirs` (no PATH search: a spec's command is a tool, not anything on PATH). */
function inDirs(name: string, dirs: readonly string[], mode: 'exec' | 'read' = 'exec'): string | undefined {
  for (const d of dirs) {
    const candidate = path.join(d, name);
    if (usableFile(candidate, mode)) return candidate;
  }
  return undefined;
}

const optional = (found: string | undefined, ...args: string[]) => (found ? [found, ...args] : undefined);

/** The error for a tool none of whose providers is installed: each one tried, and its package. */
export function unavailableMessage(spec: BccSpec): string {
  const tried = spec.variants.map((v) => `${variantName(v)} (package ${variantPackage(v)})`);
  const packages = [...new Set(spec.variants.map(variantPackage))];
  return `${spec.tool} is not installed: looked for ${tried.join(', ')}. Install one with: apt-get install -y ${packages.join(' or ')}`;
}

/**
 * Picks the first installed variant and maps input properties to its arguments. An input the
 * chosen variant cannot honour is an error rather than being silently ignored.
 */
export function resolveBccCommand(
  spec: BccSpec,
  input: Record<string, unknown>,
  runtimeKeys: Set<string>,
  opts: { duration?: number; locate?: (v: BccVariant) => string[] | undefined } = {},
): ResolvedBccCommand {
  const locate = opts.locate ?? ((v: BccVariant) => locateVariant(v));
  for (const v of spec.variants) {
    const name = variantName(v);
    const found = locate(v);
    if (!found) continue;
    const argv = [...found, ...(v.fixed_args ?? [])];
    const handled = new Set((v.args ?? []).map((a) => a.input));
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined || value === false || runtimeKeys.has(key) || handled.has(key)) continue;
      throw new BccUnavailableError(
        `${name} (the installed variant of ${spec.tool}) does not support the "${key}" option; ` +
          `remove it, or install ${variantPackage(spec.variants[0])} (apt-get install -y ${variantPackage(spec.variants[0])}) for the full tool`,
      );
    }
    const positional: string[] = [];
    for (const a of v.args ?? []) {
      const value = input[a.input];
      if (value === undefined || value === false) continue;
      if (a.flag) argv.push(a.flag);
      else if (a.option) argv.push(a.option, String(value));
      else positional.push(String(value));
    }
    const endsItself = opts.duration !== undefined && opts.duration > 0 && (v.duration_args?.length ?? 0) > 0;
    if (endsItself) argv.push(...v.duration_args!.map((s) => s.replaceAll('{duration}', String(opts.duration))));
    argv.push(...positional);
    return { argv, viaBpftrace: !v.command, lineBuffered: v.line_buffered ?? true, variant: name, endsItself };
  }
  throw new BccUnavailableError(unavailableMessage(spec));
}
