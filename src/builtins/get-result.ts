import { executionResult, waitForExecution } from '../results/execution-view.js';
import { defineBuiltin } from './builtin.js';
import { findExecution, isToolResult } from './find-execution.js';

interface Input {
  execution_id: string;
  offset: number;
  limit: number;
  wait: number;
  include_maps: boolean;
}

export default defineBuiltin<Input>({
  sessionScoped: true,
  handler: 'get_result',
  async run(input, ctx, call) {
    const e = findExecution(ctx.runs, input.execution_id);
    if (isToolResult(e)) return e;
    if (input.wait && !e.finished) {
      await waitForExecution(e, call, { maxMs: input.wait * 1000, untilLines: Math.max(input.offset, 0) });
    }
    return executionResult(e, { offset: input.offset, limit: input.limit, includeMaps: input.include_maps });
  },
});
