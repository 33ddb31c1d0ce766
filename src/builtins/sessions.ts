import { HistoryError, type Session, type SessionCall } from '../history/store.js';
import { sessionFromYaml, sessionToYaml } from '../history/sessions.js';
import type { RunState } from '../runtime/execution.js';
import { errorResult, type CallContext, type ToolResult } from '../results/tool-result.js';
import { defineBuiltin, type BuiltinContext } from './builtin.js';
import { historyOf, isResult } from './history-tools.js';

/** Tools a session never replays: they read or change sessions, and a session must not start itself. */
export const SESSION_TOOLS = new Set(['save_session', 'run_session', 'list_sessions', 'export_session', 'import_session', 'delete_session']);

/** What a run's recorded input was, minus what only that call needed (waiting, paging). */
const CALL_ONLY = new Set(['wait', 'dry_run', 'attempt_of']);

const sessionText = (s: Session) =>
  `${s.name}${s.description ? ` — ${s.description}` : ''}: ${s.calls.length} call${s.calls.length === 1 ? '' : 's'}\n${s.calls
    .map((c, i) => `  ${i + 1}. ${c.tool} ${JSON.stringify(c.input).slice(0, 160)}`)
    .join('\n')}`;

const caught = (e: unknown): ToolResult => {
  if (e instanceof HistoryError) return errorResult(e.message, 'input');
  throw e;
};

export const saveSession = defineBuiltin<{ name: string; execution_ids?: string[]; last?: number; description?: string; replace: boolean }>({
  handler: 'save_session',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    if (!!input.execution_ids?.length === (input.last !== undefined))
      return errorResult('give either execution_ids (the runs to save, in order) or last (the newest N runs), not both and not neither', 'input');
    let ids = input.execution_ids ?? [];
    if (input.last !== undefined)
      ids = history
        .list({ limit: input.last })
        .map((r) => r.id)
        .reverse();
    if (!ids.length) return errorResult('the history has no runs yet: run a trace first, then save it as a session', 'input');
    const calls: SessionCall[] = [];
    for (const id of ids) {
      const run = history.load(id);
      if (!run) return errorResult(`no recorded run "${id}": list_executions or search_history show the ids the history has`, 'not_found');
      const args = Object.fromEntries(Object.entries((run.meta.input ?? {}) as Record<string, unknown>).filter(([k]) => !CALL_ONLY.has(k)));
      calls.push({ tool: run.meta.tool, input: args });
    }
    try {
      const s = history.saveSession({ name: input.name, description: input.description, calls }, { replace: input.replace });
      return {
        structured: { name: s.name, calls: s.calls, created_at: new Date(s.createdAt).toISOString() },
        text: `saved session ${sessionText(s)}\nRun it again with run_session {name: "${s.name}"}; export it with export_session.`,
      };
    } catch (e) {
      return caught(e);
    }
  },
});

interface RunSessionInput {
  name: string;
  wait: boolean;
  timeout?: number;
}

/**
 * run_session: each saved call again, in order, through callTool, so input validation and the
 * policy judge it as they judged the first time (a tighter policy now may refuse it). The runs
 * are recorded under the session. With wait, the answer comes once every run has ended.
 */
export const runSession = defineBuiltin<RunSessionInput>({
  handler: 'run_session',
  async run(input, ctx, call) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    const s = history.getSession(input.name);
    if (!s) return errorResult(notFound(ctx, input.name), 'not_found');
    const results: { tool: string; execution_id?: string; status: string; error?: string }[] = [];
    for (const c of s.calls) {
      if (SESSION_TOOLS.has(c.tool)) {
        results.push({ tool: c.tool, status: 'refused', error: `${c.tool} is not replayed by a session` });
        continue;
      }
      const args = { ...(c.input as Record<string, unknown>), wait: false, ...(input.timeout ? { timeout: input.timeout } : {}) };
      // On behalf of the same caller, who is asked, counted and audited as for a call of their own.
      const r = await ctx.callTool(c.tool, args, { session: s.name, signal: call.signal, caller: call.caller, confirm: call.confirm } satisfies CallContext);
      const st = r.structured as { execution_id?: string; status?: string; error?: string };
      results.push({
        tool: c.tool,
        execution_id: st.execution_id,
        status: st.status ?? (r.isError ? 'refused' : 'done'),
        ...(r.isError ? { error: r.text } : {}),
      });
    }
    if (input.wait)
      await waitAll(
        ctx,
        results.map((r) => r.execution_id).filter((id): id is string => !!id),
        call.signal,
      );
    for (const r of results) if (r.execution_id) r.status = ctx.runs.find(r.execution_id)?.status ?? r.status;
    const refused = results.filter((r) => r.status === 'refused').length;
    return {
      structured: { name: s.name, runs: results, count: results.length, refused },
      text:
        `session ${s.name}: ${results.length - refused} of ${results.length} calls started${refused ? `, ${refused} refused` : ''}\n` +
        results.map((r, i) => `  ${i + 1}. ${r.tool} ${r.execution_id ?? ''} ${r.status}${r.error ? `: ${r.error.split('\n')[0]}` : ''}`).join('\n') +
        `\nget_result takes each execution_id; list_executions shows them.`,
    };
  },
});

async function waitAll(ctx: BuiltinContext, ids: string[], signal?: AbortSignal): Promise<void> {
  const ended = (r: RunState | undefined) => !r || r.finished;
  while (!signal?.aborted && !ids.every((id) => ended(ctx.runs.find(id)))) await new Promise((r) => setTimeout(r, 200));
}

function notFound(ctx: BuiltinContext, name: string): string {
  const names = ctx.runs.history?.listSessions().map((x) => x.name) ?? [];
  return `no session "${name}"${names.length ? `; saved sessions: ${names.join(', ')}` : '; none is saved yet (save_session saves runs as one)'}`;
}

export const listSessions = defineBuiltin<{ name?: string }>({
  handler: 'list_sessions',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    if (input.name) {
      const s = history.getSession(input.name);
      if (!s) return errorResult(notFound(ctx, input.name), 'not_found');
      return { structured: { sessions: [{ ...s, created_at: new Date(s.createdAt).toISOString() }], count: 1 }, text: sessionText(s) };
    }
    const all = history.listSessions();
    return {
      structured: {
        count: all.length,
        sessions: all.map((s) => ({
          name: s.name,
          description: s.description,
          calls: s.calls,
          created_at: new Date(s.createdAt).toISOString(),
          runs: s.runs,
          last_run_at: s.lastRunAt ? new Date(s.lastRunAt).toISOString() : null,
        })),
      },
      text: all.length
        ? all
            .map((s) => `${s.name.padEnd(24)} ${String(s.calls.length).padStart(3)} calls  ${String(s.runs).padStart(4)} runs  ${s.description ?? ''}`)
            .join('\n')
        : 'no sessions saved yet; save_session saves runs as one',
    };
  },
});

export const exportSession = defineBuiltin<{ name: string }>({
  handler: 'export_session',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    const s = history.getSession(input.name);
    if (!s) return errorResult(notFound(ctx, input.name), 'not_found');
    const yaml = sessionToYaml(s);
    return { structured: { name: s.name, yaml }, text: yaml, verbatim: true };
  },
});

export const importSession = defineBuiltin<{ yaml: string; file?: string; replace: boolean }>({
  handler: 'import_session',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    const file = input.file ?? 'session.yaml';
    const { session, problems } = sessionFromYaml(input.yaml, file);
    if (!session || problems.length)
      return errorResult(`${file} is not a session file:\n${problems.map((p) => `${file}:${p.line}:${p.column}: ${p.message}`).join('\n')}`, 'input', {
        problems,
      });
    const unknown = session.calls.filter((c) => !ctx.tools().some((t) => t.name === c.tool)).map((c) => c.tool);
    if (unknown.length)
      return errorResult(
        `${file} calls tools this mcptrace does not have: ${[...new Set(unknown)].join(', ')}; fix the tool names (mcptrace tools list shows them)`,
        'input',
      );
    try {
      const s = history.saveSession(session, { replace: input.replace });
      return { structured: { name: s.name, calls: s.calls }, text: `imported session ${sessionText(s)}` };
    } catch (e) {
      return caught(e);
    }
  },
});

export const deleteSession = defineBuiltin<{ name: string }>({
  handler: 'delete_session',
  async run(input, ctx) {
    const history = historyOf(ctx);
    if (isResult(history)) return history;
    if (!history.deleteSession(input.name)) return errorResult(notFound(ctx, input.name), 'not_found');
    return { structured: { name: input.name, deleted: true }, text: `deleted session ${input.name} (its runs stay in the history)` };
  },
});
