import type { ExecutionStatus } from '../runtime/execution.js';
import { phaseText } from '../results/phase-text.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  status?: ExecutionStatus;
  tool?: string;
  limit: number;
}

export default defineBuiltin<Input>({
  sessionScoped: true,
  handler: 'list_executions',
  async run(input, ctx) {
    const rows = ctx.runs
      .list({ status: input.status, tool: input.tool, limit: input.limit })
      .filter((e) => (!input.status || e.status === input.status) && (!input.tool || e.tool === input.tool))
      .slice(-input.limit)
      .map((e) => ({
        execution_id: e.id,
        tool: e.tool,
        status: e.status,
        phase: phaseText(e),
        duration_ms: e.durationMs() ?? null,
        lines_total: e.lineCount ?? e.lines.length,
        started_at: e.startedAt ? new Date(e.startedAt).toISOString() : null,
        summary: e.summary ?? '',
        command: e.commandLine.length > 200 ? `${e.commandLine.slice(0, 200)}…` : e.commandLine,
        ...(e.attemptOf ? { attempt_of: e.attemptOf, attempt: e.attempt } : {}),
      }));
    const text = rows.length
      ? rows
          .map(
            (r) =>
              `${r.execution_id}  ${r.status.padEnd(9)}  ${r.tool.padEnd(16)}  ${String(r.lines_total).padStart(6)} lines  ${String(r.duration_ms ?? '-').padStart(6)} ms  ${r.summary}${r.attempt_of ? `  (attempt ${r.attempt}, retries ${r.attempt_of})` : ''}`,
          )
          .join('\n')
      : 'no executions yet; start one with exec_program';
    return { structured: { executions: rows, count: rows.length }, text };
  },
});
