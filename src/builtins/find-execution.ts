import type { Execution } from '../runtime/execution.js';
import { errorResult, type ToolResult } from '../results/tool-result.js';
import type { RunsView } from './builtin.js';

/** The run with this id, or an error that says which ids exist and why one may be gone. */
export function findExecution(runs: RunsView, id: string): Execution | ToolResult {
  const e = runs.get(id);
  if (e) return e;
  const known = runs
    .list()
    .slice(-5)
    .map((x) => x.id);
  if (!known.length) {
    return errorResult(
      `no execution "${id}": this mcptrace process has started none. Executions live in the process that started them (an MCP server session); in a terminal, a trace runs in the foreground of its own command.`,
      'not_found',
    );
  }
  return errorResult(
    `no execution "${id}": it never existed or was forgotten (the last ${runs.options.maxRetained} finished runs are kept, up to ${Math.round(runs.options.maxRetainedBytes / 2 ** 20)} MiB of output in all). ` +
      `Recent ids: ${known.join(', ')}. Call list_executions to see them all.`,
    'not_found',
  );
}

export const isToolResult = (x: Execution | ToolResult): x is ToolResult => !('id' in x);
