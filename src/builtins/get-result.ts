import { executionResult, waitForExecution } from '../results/execution-view.js';
import { defineBuiltin, type RunsView } from './builtin.js';
import { findRunOrHost, isToolResult } from './find-execution.js';

interface Input {
  execution_id: string;
  offset: number;
  limit: number;
  wait: number;
  include_maps: boolean;
  host?: string;
}

/** How often a run of another process is read again from the history while a caller waits. */
const POLL_MS = 250;

export default defineBuiltin<Input>({
  sessionScoped: true,
  handler: 'get_result',
  async run(input, ctx, call) {
    let e = findRunOrHost(ctx.runs, input.execution_id, input.host);
    if (isToolResult(e)) return e;
    const live = ctx.runs.get(e.id);
    if (input.wait && !e.finished) {
      if (live) await waitForExecution(live, call, { maxMs: input.wait * 1000, untilLines: Math.max(input.offset, 0) });
      else e = (await pollStored(ctx.runs, e.id, input.wait * 1000, Math.max(input.offset, 0), call.signal)) ?? e;
    }
    return executionResult(e, { offset: input.offset, limit: input.limit, includeMaps: input.include_maps });
  },
});

/**
 * A run another process is running changes only in the history, a batch a second: it is read
 * again until it ends, has more lines than `untilLines`, or the wait is over.
 */
async function pollStored(runs: RunsView, id: string, maxMs: number, untilLines: number, signal?: AbortSignal) {
  const end = Date.now() + maxMs;
  let run = runs.find(id);
  while (run && !run.finished && run.lines.length <= untilLines && Date.now() < end && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, end - Date.now()))));
    run = runs.find(id);
  }
  return run;
}
