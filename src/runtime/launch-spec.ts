import type { LoadedTool } from '../manifest/types.js';
import { BccUnavailableError, resolveBccCommand } from './bcc-tools.js';
import type { Preflight } from './environment.js';
import type { LaunchSpec } from './process-lifecycle.js';
import { NON_TEMPLATE_KEYS, TemplateValueError } from './template-render.js';

/** A call that cannot be turned into a command; the message says how to fix the call. */
export class RenderError extends Error {}

/**
 * Environment for every bpftrace child. Measured here: the default 64-page ring buffer loses
 * events whenever the reader stalls, 1024 pages did not; the default 4096 map keys drop keys
 * silently. __BPFTRACE_NOTIFY_PROBES_ATTACHED marks the moment probes are really live.
 */
export const BPFTRACE_ENV: Record<string, string> = {
  BPFTRACE_PERF_RB_PAGES: '1024',
  BPFTRACE_MAP_KEYS_MAX: '65536',
  __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1',
};

export interface Rendered {
  spec: LaunchSpec;
  /** Which bcc variant was chosen, for listings. */
  variant?: string;
}

/** A run with a planned duration gets its timeout extended past it, so it can end normally. */
const timeoutAround = (timeoutSec: number, durationSec = 0) => Math.max(timeoutSec, durationSec + 5) * 1000;

/** Renders a validated call as an argv array. Values reach bpftrace only as argv elements. */
export function renderLaunch(tool: LoadedTool, input: Record<string, unknown>, pre: Preflight): Rendered {
  const { manifest: m, prepared } = tool;
  const timeoutSec = Number(input.timeout ?? m.limits.timeout.default);
  if (timeoutSec > m.limits.timeout.max) {
    throw new RenderError(`timeout ${timeoutSec} s exceeds ${m.name}'s maximum of ${m.limits.timeout.max} s; pass a smaller timeout`);
  }
  const bpftrace = (args: string[]) => [...pre.privilegePrefix, pre.bpftrace, '-f', 'json', ...args];
  switch (m.run.kind) {
    case 'bpftrace': {
      const program = m.run.program ?? String(input[m.run.program_input!] ?? '');
      if (!program.trim()) throw new RenderError(`"${m.run.program_input}" is empty; pass a bpftrace program`);
      const positional = (m.run.positional ?? []).map((p) => String(input[p] ?? ''));
      return { spec: { argv: bpftrace(['-e', program, ...positional]), env: BPFTRACE_ENV, output: 'bpftrace-json', timeoutMs: timeoutSec * 1000 } };
    }
    case 'template': {
      let program: string;
      try {
        program = prepared.renderTemplate!(input);
      } catch (e) {
        if (e instanceof TemplateValueError) throw new RenderError(`a value cannot be used in ${m.name}'s program: ${e.message}`);
        throw e;
      }
      // A template ends itself after its duration (interval + exit()).
      const timeoutMs = timeoutAround(timeoutSec, typeof input.duration === 'number' ? input.duration : 0);
      return { spec: { argv: bpftrace(['-e', program]), env: BPFTRACE_ENV, output: 'bpftrace-json', timeoutMs } };
    }
    case 'bcc': {
      const duration = m.run.duration_input ? (input[m.run.duration_input] as number | undefined) : undefined;
      const ignore = new Set([...NON_TEMPLATE_KEYS, ...(m.run.duration_input ? [m.run.duration_input] : [])]);
      let resolved;
      try {
        resolved = resolveBccCommand(prepared.bccSpec!, input, ignore);
      } catch (e) {
        if (e instanceof BccUnavailableError) throw new RenderError(e.message);
        throw e;
      }
      const timeoutMs = timeoutAround(timeoutSec, duration);
      const durationMs = duration !== undefined ? duration * 1000 : undefined;
      if (resolved.viaBpftrace) {
        return { variant: resolved.variant, spec: { argv: bpftrace(resolved.argv), env: BPFTRACE_ENV, output: 'bpftrace-json', timeoutMs, durationMs } };
      }
      // libbpf tools fully buffer stdout into a pipe until exit; stdbuf -oL makes them stream.
      const argv = [...pre.privilegePrefix, ...(resolved.lineBuffered ? ['stdbuf', '-oL'] : []), ...resolved.argv];
      return { variant: resolved.variant, spec: { argv, env: {}, output: 'text', timeoutMs, durationMs } };
    }
    case 'builtin':
      throw new RenderError(`${m.name} is a builtin and has no command`);
  }
}
