import path from 'node:path';
import { BCC_DIR } from '../../config/paths.js';
import { kernelFeatures, privilegedArgv, type Preflight } from '../../runtime/environment.js';
import { RenderError, type Launch, type RunnableKind, type Tool } from '../kind.js';
import { bpftraceSpec, NON_PROGRAM_INPUTS, timeoutMs } from '../runnable.js';
import { findBeside } from '../files.js';
import {
  BccUnavailableError,
  loadBccSpec,
  locateRemoteVariant,
  locateVariant,
  resolveBccCommand,
  variantName,
  variantPackage,
  type BccSpec,
  type BccVariant,
  type ResolvedBccCommand,
} from './bcc-spec.js';
import { diagnoseBccFailure } from './diagnose.js';
import { BccTextDecoder } from './parsers/decoder.js';

interface Prepared {
  spec: BccSpec;
  specPath: string;
  durationInput?: string;
}

/** A bcc/libbpf tool (or bpftrace's port of it), chosen from the installed providers. */
export const bccKind: RunnableKind<Prepared> = {
  name: 'bcc',
  runnable: true,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['tool'],
    properties: {
      tool: { type: 'string', pattern: '^[a-z0-9_-]+$', description: 'Spec in bcc/TOOL.yaml.' },
      duration_input: { type: 'string', description: 'Input property whose seconds end the run normally (status completed).' },
    },
  },
  prepare(ctx) {
    const run = ctx.def.run as { tool: string; duration_input?: string };
    if (run.duration_input && !ctx.inputs.includes(run.duration_input)) {
      ctx.problem('/run/duration_input', `"${run.duration_input}" is not a property of input; declared: ${ctx.inputs.join(', ')}`, 'run');
    }
    const specPath = findBeside(ctx.def.file, 'bcc', `${run.tool}.yaml`, BCC_DIR);
    if (!specPath) {
      ctx.problem('/run/tool', `bcc spec "${run.tool}.yaml" not found in ${path.join(path.dirname(ctx.def.file), 'bcc')} nor in ${BCC_DIR}`, 'run');
      return undefined;
    }
    const loaded = loadBccSpec(specPath);
    ctx.report(loaded.problems);
    for (const [vi, v] of (loaded.spec?.variants ?? []).entries()) {
      for (const a of v.args ?? []) {
        if (!ctx.inputs.includes(a.input)) {
          ctx.report([
            { file: specPath, line: 1, col: 1, message: `variants[${vi}] maps input "${a.input}", which ${ctx.def.name} does not declare`, kind: 'bcc' },
          ]);
        }
      }
    }
    return loaded.spec ? { spec: loaded.spec, specPath, durationInput: run.duration_input } : undefined;
  },
  check(tool) {
    const { spec } = tool.prepared;
    const name = `bcc:${spec.tool}`;
    try {
      const r = resolveBccCommand(spec, {}, new Set());
      const needs = missingKernelFeatures(spec);
      if (needs.length) {
        return [{ name, ok: false, detail: `${r.argv.join(' ')} is installed, but it needs ${needs.join(', ')}, which this kernel lacks`, fix: kprobesFix }];
      }
      return [{ name, ok: true, detail: `${r.argv.join(' ')}${r.viaBpftrace ? ' (bpftrace script)' : ''}` }];
    } catch (e) {
      return [{ name, ok: false, detail: (e as Error).message, fix: `apt-get install -y ${[...new Set(spec.variants.map(variantPackage))].join(' or ')}` }];
    }
  },
  summary(tool) {
    return tool.prepared.spec.purpose;
  },
  launch(tool, input, pre) {
    try {
      return launchResolved(
        tool,
        input,
        pre,
        resolveBccCommand(tool.prepared.spec, input, runtimeKeys(tool), { duration: duration(tool, input), locate: locator(pre) }),
      );
    } catch (e) {
      if (e instanceof BccUnavailableError) throw new RenderError(e.message);
      throw e;
    }
  },
  fallback(tool, input, pre, refused) {
    // What the entry needs (kprobes) every provider of it needs: on a kernel without it the
    // next one would be refused the same, and the first refusal says why more plainly.
    if (missingKernelFeatures(tool.prepared.spec, pre).length) return undefined;
    const next = nextUsable(tool, input, refused, pre);
    return next && 'resolved' in next ? launchResolved(tool, input, pre, next.resolved) : undefined;
  },
};

const duration = (tool: Tool<Prepared>, input: Record<string, unknown>) =>
  tool.prepared.durationInput ? (input[tool.prepared.durationInput] as number | undefined) : undefined;
const runtimeKeys = (tool: Tool<Prepared>) => new Set([...NON_PROGRAM_INPUTS, ...(tool.prepared.durationInput ? [tool.prepared.durationInput] : [])]);

/**
 * The first installed provider after `after` in the catalog's order: resolved when it can take
 * this input, else why it cannot (the next one is not tried then: the caller can drop the
 * option, and the earlier provider's refusal says so).
 */
function nextUsable(
  tool: Tool<Prepared>,
  input: Record<string, unknown>,
  after: string,
  pre: Preflight,
): { resolved: ResolvedBccCommand } | { cannot: string } | undefined {
  const { spec } = tool.prepared;
  const locate = locator(pre);
  const from = spec.variants.findIndex((v) => variantName(v) === after);
  if (from < 0) return undefined;
  for (const v of spec.variants.slice(from + 1)) {
    if (!locate(v)) continue;
    try {
      return { resolved: resolveBccCommand({ ...spec, variants: [v] }, input, runtimeKeys(tool), { duration: duration(tool, input), locate }) };
    } catch (e) {
      if (!(e instanceof BccUnavailableError)) throw e;
      return {
        cannot: `${variantName(v)} is installed and might run here, but ${e.message.replace(/^.*? does not support (the "[^"]+" option).*$/s, 'it does not take $1: call again without that option to use it')}`,
      };
    }
  }
  return undefined;
}

/** A value of this call (a function, a disk) that a refusal's stderr names, if any. */
function namedByCaller(tool: Tool<Prepared>, input: Record<string, unknown>, stderr: string[]): string | undefined {
  const text = stderr.join('\n');
  const keys = runtimeKeys(tool);
  return Object.entries(input)
    .filter(([k, v]) => !keys.has(k) && typeof v === 'string' && v.length >= 3)
    .map(([, v]) => v as string)
    .find((v) => new RegExp(`(?:^|[^\\w])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[^\\w]|$)`).test(text));
}

function launchResolved(tool: Tool<Prepared>, input: Record<string, unknown>, pre: Preflight, resolved: ResolvedBccCommand): Launch {
  const { spec } = tool.prepared;
  const seconds = duration(tool, input);
  // A tool that ends itself after the duration needs no SIGINT for it; the safety timeout
  // still covers it.
  const timing = {
    timeoutMs: timeoutMs(tool, input, seconds),
    durationMs: seconds !== undefined && !resolved.endsItself ? seconds * 1000 : undefined,
  };
  // Said only when no fallback can happen: the next provider exists but cannot take this input.
  const instead = () => {
    const next = nextUsable(tool, input, resolved.variant, pre);
    return next && 'cannot' in next ? next.cannot : undefined;
  };
  // bpftrace's .bt port is the last provider of every catalog entry, so nothing follows its refusal.
  if (resolved.viaBpftrace) return { variant: resolved.variant, spec: bpftraceSpec(pre, resolved.argv, timing) };
  // libbpf-tools fully buffer stdout into a pipe until they exit (measured): stdbuf -oL makes
  // glibc flush each line, so rows arrive live and a SIGKILL loses at most a partial line.
  const argv = privilegedArgv(pre, [...(resolved.lineBuffered ? ['stdbuf', '-oL'] : []), ...resolved.argv]);
  return {
    variant: resolved.variant,
    spec: {
      argv,
      env: {},
      lifeline: pre.helper !== undefined,
      decoder: () => new BccTextDecoder(spec.tool, spec.output ?? {}),
      holdStopUntilAttached: false,
      diagnose: (stderr) => {
        const d = diagnoseBccFailure(spec, resolved.variant, stderr, instead());
        const named = d.refused ? namedByCaller(tool, input, stderr) : undefined;
        // What the kernel refused is what the caller named (funclatency's function): the call is
        // the thing to fix, and another provider would be refused the same.
        if (!named) return d;
        return {
          error: d.error,
          hint: `"${named}", which this call names, is what the kernel refused: check that it exists and is traceable on this kernel, and call again`,
        };
      },
      ...timing,
    },
  };
}

const kprobesFix =
  'run it on a kernel with CONFIG_KPROBES=y (most distribution kernels), or use a tool that attaches to tracepoints instead (list_bcc_tools shows which run here)';

/** Where a provider is found: on this machine, or on the run's host from what its probe found. */
function locator(pre: Preflight): (v: BccVariant) => string[] | undefined {
  const remote = pre.remote;
  return remote ? (v) => locateRemoteVariant(v, remote.files, remote.tools) : (v) => locateVariant(v);
}

function missingKernelFeatures(spec: BccSpec, pre?: Preflight): string[] {
  const k = pre?.remote?.kernelFeatures ?? kernelFeatures();
  return (spec.needs ?? []).filter((n) => n === 'kprobes' && !k.kprobes).map(() => 'kprobes');
}
