import type { StoredStatus } from '../history/store.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';
import { WHEN_HELP, historyOf, isResult, parseWhen, renderGroups } from './history-tools.js';

interface Input {
  query: string;
  tool?: string;
  status?: StoredStatus;
  since?: string;
  until?: string;
  include_failed: boolean;
  limit: number;
}

/**
 * search_history: the runs whose program, input, error or output has the words, best first,
 * each attempt chain (attempt_of) together, so "which attempt worked" reads at a glance.
 */
export default defineBuiltin<Input>({
  handler: 'search_history',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    const when: Record<'since' | 'until', number | undefined> = { since: undefined, until: undefined };
    for (const k of ['since', 'until'] as const) {
      const raw = input[k];
      if (raw === undefined) continue;
      when[k] = parseWhen(raw);
      if (when[k] === undefined) return errorResult(`${k} "${raw}" is not a time: ${WHEN_HELP}`, 'input');
    }
    const groups = history
      .search(input.query, {
        tool: input.tool,
        status: input.status,
        since: when.since,
        until: when.until,
        includeFailed: input.include_failed,
        limit: input.limit,
      })
      .slice(0, input.limit);
    const runs = groups.reduce((n, g) => n + g.runs.length, 0);
    const structured = {
      query: input.query,
      count: runs,
      groups: groups.map((g) => ({
        chain: g.chain,
        runs: g.runs.map((r) => ({
          execution_id: r.id,
          tool: r.tool,
          status: r.status,
          created_at: new Date(r.createdAt).toISOString(),
          score: Number(r.score.toFixed(3)),
          field: r.field,
          snippet: r.snippet,
          summary: r.summary ?? '',
          ...(r.error ? { error: r.error } : {}),
          ...(r.attemptOf ? { attempt_of: r.attemptOf, attempt: r.attempt } : {}),
          ...(r.session ? { session: r.session } : {}),
        })),
      })),
    };
    const text = runs
      ? `${runs} run${runs === 1 ? '' : 's'} in ${groups.length} chain${groups.length === 1 ? '' : 's'} match "${input.query}"; get_result, analyze_output and compare_runs take these ids:\n${renderGroups(groups)}`
      : `no recorded run matches "${input.query}"${input.include_failed ? '' : ' (failed runs left out: include_failed: true adds them)'}; try fewer or other words, or list_executions for the newest runs`;
    return { structured, text };
  },
});
