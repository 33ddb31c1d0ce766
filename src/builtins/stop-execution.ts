import { executionResult, waitForExecution } from '../results/execution-view.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';
import { findExecution, isToolResult } from './find-execution.js';

interface Input {
  execution_id: string;
  wait: number;
  limit: number;
  include_maps: boolean;
}

export default defineBuiltin<Input>({
  sessionScoped: true,
  handler: 'stop_execution',
  async run(input, ctx, call) {
    let e = findExecution(ctx.runs, input.execution_id);
    if (isToolResult(e)) return e;
    const live = ctx.runs.get(e.id);
    if (!e.finished && live) {
      ctx.runs.stop(live, 'stop');
      // Wait for bpftrace to print its maps, so the caller gets them in this answer.
      if (input.wait) await waitForExecution(live, call, { maxMs: input.wait * 1000 });
    } else if (!e.finished) {
      // Another process runs it: its tracer gets the SIGINT a Ctrl-C would send, prints its maps,
      // and that process records the end, which is read back here.
      const why = ctx.runs.stopElsewhere(e);
      if (why) return errorResult(`cannot stop ${e.id}: ${why}`, 'failed');
      const end = Date.now() + input.wait * 1000;
      while (!e.finished && Date.now() < end && !call.signal?.aborted) {
        await new Promise((r) => setTimeout(r, 250));
        e = ctx.runs.find(e.id) ?? e;
      }
    }
    // The end of the output, where the final maps are: a first page would hide them.
    const offset = Math.max(0, e.lines.length - input.limit);
    const r = executionResult(e, { offset, limit: input.limit, includeMaps: input.include_maps });
    return { ...r, isError: false };
  },
});
