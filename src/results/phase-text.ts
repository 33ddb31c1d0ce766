import type { ExecutionState } from '../runtime/execution.js';

/** The sentence a caller reads for a run's phase: what is happening, and what comes next. */
export function phaseText(e: Pick<ExecutionState, 'phase' | 'stopReason' | 'graceMs'>): string {
  const grace = `SIGKILL after ${Math.round((e.graceMs ?? 0) / 1000)} s`;
  switch (e.phase) {
    case 'queued':
      return 'queued';
    case 'running':
      return 'running';
    case 'attached':
      return 'attached: probes are live';
    case 'stop-held':
      return `stopping (${e.stopReason}): waiting for probes to attach, then SIGINT (${grace})`;
    case 'stopping':
      return `stopping (${e.stopReason}): SIGINT sent, waiting for the tracer to print its maps and detach (${grace})`;
    case 'killing':
      return 'stopping: grace period over, SIGKILL sent; the kernel may still be detaching probes';
    case 'ended':
      return 'ended';
    case 'ended-killed':
      return 'ended: killed after the grace period, map output may be incomplete';
    case 'ended-error':
      return 'ended with an error';
  }
}
