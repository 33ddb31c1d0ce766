import { privilegedArgv, type Preflight } from '../environment.js';

/**
 * Environment for every bpftrace child. Measured here: the default 64-page ring buffer loses
 * events whenever the reader stalls, 1024 pages did not; the default 4096 map keys drop keys
 * silently. __BPFTRACE_NOTIFY_PROBES_ATTACHED marks the moment probes are really live.
 */
export const BPFTRACE_ENV: Readonly<Record<string, string>> = {
  BPFTRACE_PERF_RB_PAGES: '1024',
  BPFTRACE_MAP_KEYS_MAX: '65536',
  __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1',
};

export const MAP_KEYS_MAX = Number(BPFTRACE_ENV.BPFTRACE_MAP_KEYS_MAX);

/** The one builder of a privileged bpftrace command line: sudo prefix (if any), binary, args. */
export function bpftraceArgv(pre: Preflight, args: string[]): string[] {
  return privilegedArgv(pre, [pre.bpftrace, ...args]);
}

/** A program run with typed output: `-f json`, so maps arrive typed and are rendered back. */
export function bpftraceJsonArgv(pre: Preflight, args: string[]): string[] {
  return bpftraceArgv(pre, ['-f', 'json', ...args]);
}
