import { privilegedArgv, type Preflight } from '../environment.js';
import type { BpftraceFeatures } from './version.js';

export const MAP_KEYS_MAX = 65536;

/**
 * Environment for every bpftrace child. Measured here: the default 64-page ring buffer loses
 * events whenever the reader stalls, 1024 pages did not; the default 4096 map keys drop keys
 * silently (the variable was renamed in 0.20, and the old name then warns on every run).
 * __BPFTRACE_NOTIFY_PROBES_ATTACHED marks the moment probes are really live.
 */
export function bpftraceEnv(features: Pick<BpftraceFeatures, 'mapKeysEnv'>): Record<string, string> {
  return {
    BPFTRACE_PERF_RB_PAGES: '1024',
    [features.mapKeysEnv]: String(MAP_KEYS_MAX),
    __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1',
  };
}

/** The one builder of a privileged bpftrace command line: sudo prefix (if any), binary, args. */
export function bpftraceArgv(pre: Preflight, args: string[], env?: Record<string, string>): string[] {
  return privilegedArgv(pre, [pre.bpftrace, ...args], env);
}

/**
 * A program run with typed output: `-f json`, so maps arrive typed and are rendered back, and
 * from 0.25 `-d types`, the program's types printed on stdout before it runs (the decoder reads
 * and drops them): JSON writes a buffer, a tuple and an array alike. It costs no extra process.
 */
export function bpftraceJsonArgv(pre: Preflight, args: string[], env?: Record<string, string>): string[] {
  return bpftraceArgv(pre, ['-f', 'json', ...(printsTypes(pre.features, args) ? ['-d', 'types'] : []), ...args], env);
}

/**
 * Whether the run prints its types for the decoder. Not with `-o FILE` (a command run with
 * `-c`): the trace then goes to that file, while the types would go to the stdout the
 * command's own output shares; the decoder guesses from the program's source instead.
 */
export function printsTypes(features: Pick<BpftraceFeatures, 'typesDump'>, args: readonly string[]): boolean {
  if (!features.typesDump) return false;
  for (const a of args) {
    if (a === '-e' || a === '--') return true;
    if (a === '-o' || a === '--output' || a.startsWith('--output=') || a === '-d' || a === '--debug') return false;
  }
  return true;
}
