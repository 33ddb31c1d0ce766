import type { RunState } from '../runtime/execution.js';
import { errorResult, type ToolResult } from '../results/tool-result.js';
import type { RunsView } from './builtin.js';

/** The run with this id, or an error that says which ids exist and why one may be gone. */
export function findExecution(runs: RunsView, id: string): RunState | ToolResult {
  const e = runs.find(id);
  if (e) return e;
  const known = runs
    .list()
    .slice(-5)
    .map((x) => x.id);
  if (!known.length) {
    return errorResult(
      runs.shared
        ? `no execution "${id}": the history has no run with this id (it was never started, or was pruned by the history's retention). Call list_executions or search_history to find one.`
        : `no execution "${id}": this mcptrace process has started none, and the history is off (--no-history or MCPTRACE_HISTORY=off), so runs live only in the process that started them.`,
      'not_found',
    );
  }
  const kept = runs.shared
    ? "the history's retention prunes the oldest finished runs (mcptrace history prune --help)"
    : `the last ${runs.options.maxRetained} finished runs are kept, up to ${Math.round(runs.options.maxRetainedBytes / 2 ** 20)} MiB of output in all`;
  return errorResult(
    `no execution "${id}": it never existed or was forgotten (${kept}). ` + `Recent ids: ${known.join(', ')}. Call list_executions to see them all.`,
    'not_found',
  );
}

export const isToolResult = (x: RunState | ToolResult): x is ToolResult => !('id' in x);

/**
 * With `host`, the run that host did within the fleet run `id` (its hosts[]), or why there is
 * none; without it, the run `id` itself.
 */
export function findRunOrHost(runs: RunsView, id: string, host: string | undefined): RunState | ToolResult {
  const e = findExecution(runs, id);
  if (!host || isToolResult(e)) return e;
  if (!e.fleet) return errorResult(`${id} is not a fleet run (it ran on ${e.host ?? 'this machine'}): call again without host`, 'input');
  const h = e.fleet.find((x) => x.host === host);
  if (!h) return errorResult(`${id} did not run on "${host}"; its hosts: ${e.fleet.map((x) => x.host).join(', ')}`, 'not_found');
  if (!h.execution_id) return errorResult(`${host} never started its run in ${id}: ${h.error ?? h.status}${h.hint ? `. ${h.hint}` : ''}`, 'failed');
  return findExecution(runs, h.execution_id);
}
