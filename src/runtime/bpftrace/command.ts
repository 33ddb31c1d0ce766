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
export function bpftraceArgv(pre: Preflight, args: string[]): string[] {
  return privilegedArgv(pre, [pre.bpftrace, ...args]);
}

/** A program run with typed output: `-f json`, so maps arrive typed and are rendered back. */
export function bpftraceJsonArgv(pre: Preflight, args: string[]): string[] {
  return bpftraceArgv(pre, ['-f', 'json', ...args]);
}
