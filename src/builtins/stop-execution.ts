import { executionResult, waitForExecution } from '../results/execution-view.js';
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
    const e = findExecution(ctx.runs, input.execution_id);
    if (isToolResult(e)) return e;
    if (!e.finished) {
      ctx.runs.stop(e, 'stop');
      // Wait for bpftrace to print its maps, so the caller gets them in this answer.
      if (input.wait) await waitForExecution(e, call, { maxMs: input.wait * 1000 });
    }
    // The end of the output, where the final maps are: a first page would hide them.
    const offset = Math.max(0, e.lines.length - input.limit);
    const r = executionResult(e, { offset, limit: input.limit, includeMaps: input.include_maps });
    return { ...r, isError: false };
  },
});
