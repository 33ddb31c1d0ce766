import type { HistoryStore, SearchGroup } from '../history/store.js';
import { errorResult, type ToolResult } from '../results/tool-result.js';
import type { BuiltinContext } from './builtin.js';

/** The history, or the error that says why there is none here and how to turn it on. */
export function historyOf(ctx: BuiltinContext): HistoryStore | ToolResult {
  const h = ctx.runs.history;
  if (h) return h;
  return errorResult(
    ctx.runs.shared
      ? 'the history could not be opened in this process (its stderr says why); fix the state directory (--state-dir or MCPTRACE_STATE_DIR) and start mcptrace again'
      : 'the history is off in this process (--no-history or MCPTRACE_HISTORY=off): nothing is recorded. Start mcptrace without it to record runs',
    'environment',
  );
}

export const isResult = (x: unknown): x is ToolResult => typeof x === 'object' && x !== null && 'structured' in x;

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/**
 * A point in time as a person gives one: ISO 8601 ("2026-12-06", "2026-12-06T10:00"), a time
 * ago ("90m", "24h", "7d", "2w"), "today" or "yesterday". Undefined for anything else.
 */
export function parseWhen(text: string, now = Date.now()): number | undefined {
  const t = text.trim().toLowerCase();
  const ago = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(t);
  if (ago) return now - Number(ago[1]) * UNITS[ago[2]];
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  if (t === 'today') return midnight.getTime();
  if (t === 'yesterday') return midnight.getTime() - UNITS.d;
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

export const WHEN_HELP = 'give an ISO date or time (2026-12-06, 2026-12-06T10:00), a time ago (90m, 24h, 7d, 2w), today or yesterday';

export function renderGroups(groups: SearchGroup[]): string {
  if (!groups.length) return '';
  return groups
    .map((g) =>
      g.runs
        .map((r, i) => {
          const head = `${i ? '  ↳ ' : ''}${r.id}  ${r.status.padEnd(11)} ${new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' ')}  ${r.tool}${r.attempt && r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}${r.session ? ` [session ${r.session}]` : ''}`;
          return `${head}\n${i ? '    ' : ''}    ${r.field}: ${r.snippet.replace(/\s+/g, ' ').slice(0, 200)}`;
        })
        .join('\n'),
    )
    .join('\n');
}
