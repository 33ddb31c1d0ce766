import type { Execution } from '../runtime/execution.js';
import { BPFTRACE_ENV } from '../runtime/launch-spec.js';
import type { CallContext, Progress } from './tool-result.js';

export interface PageOptions {
  offset?: number;
  limit?: number;
  includeMaps?: boolean;
}

/** The get_result shape: one page of output and everything known about the run. */
export function executionView(e: Execution, page: PageOptions = {}): Record<string, unknown> {
  const offset = page.offset ?? 0;
  const limit = page.limit ?? 500;
  const lines = e.lines.slice(offset, offset + limit);
  const end = Math.min(e.lines.length, offset + lines.length);
  const view: Record<string, unknown> = {
    execution_id: e.id,
    tool: e.tool,
    status: e.status,
    phase: e.phase,
    exit_code: e.exitCode ?? null,
    signal: e.signal ?? null,
    error: e.error ?? null,
    hint: e.hint ?? null,
    duration_ms: e.durationMs() ?? null,
    started_at: e.startedAt ? new Date(e.startedAt).toISOString() : null,
    ended_at: e.endedAt ? new Date(e.endedAt).toISOString() : null,
    offset,
    lines,
    lines_total: e.lines.length,
    has_more: end < e.lines.length || !e.finished,
    next_offset: Math.max(end, offset > e.lines.length ? e.lines.length : offset),
    dropped: { lines: e.droppedLines, bytes: e.droppedBytes, stderr_lines: e.droppedStderr },
    limits: { max_lines: e.limits.max_lines, max_bytes: e.limits.max_bytes },
    lost_events: e.lostEvents,
    attached_probes: e.attachedProbes ?? null,
    stderr: e.stderr.filter((l) => l.level !== 'notice' && l.level !== 'info').map((l) => l.text),
    notices: e.stderr.filter((l) => l.level === 'notice').map((l) => `${l.text} (harmless: this kernel accounts BPF memory without RLIMIT_MEMLOCK)`),
  };
  if (e.variant) view.variant = e.variant;
  view.warnings = fullMaps(e).map(
    (m) => `map ${m.name} holds ${m.keys} keys, the BPFTRACE_MAP_KEYS_MAX limit: bpftrace dropped any further keys without a word. Aggregate on fewer keys (e.g. by comm instead of pid), or filter with a predicate.`,
  );
  if (page.includeMaps) view.maps = Object.fromEntries([...e.maps.values()].map((m) => [m.name, { type: m.type, value: m.value }]));
  return view;
}

/** Maps that reached the key limit, where bpftrace silently stops adding keys. */
function fullMaps(e: Execution): { name: string; keys: number }[] {
  const limit = Number(BPFTRACE_ENV.BPFTRACE_MAP_KEYS_MAX);
  return [...e.maps.values()]
    .map((m) => ({ name: m.name, keys: m.value && typeof m.value === 'object' && !Array.isArray(m.value) ? Object.keys(m.value).length : 0 }))
    .filter((m) => m.keys >= limit);
}

/** The readable rendering of a view, as bpftrace prints output, framed by status. */
export function renderExecutionText(v: Record<string, any>, opts: { omitLines?: boolean } = {}): string {
  const secs = v.duration_ms === null ? '' : ` after ${(v.duration_ms / 1000).toFixed(2)} s`;
  const head = `${v.execution_id} (${v.tool}): ${v.status}${secs}${v.exit_code !== null ? `, exit code ${v.exit_code}` : ''}`;
  const out = [head];
  if (['queued', 'running'].includes(v.status)) out.push(`phase: ${v.phase}`);
  if (v.lines.length && !opts.omitLines) out.push('', ...v.lines);
  const notes: string[] = [];
  if (v.error) notes.push(`error: ${v.error}`);
  if (v.hint) notes.push(`fix: ${v.hint}`);
  if (v.dropped.lines) notes.push(`${v.dropped.lines} lines (${v.dropped.bytes} bytes) were dropped past the output cap of ${v.limits.max_lines} lines / ${v.limits.max_bytes} bytes; the final map output is always kept`);
  if (v.lost_events) notes.push(`bpftrace reported ${v.lost_events} lost events (the kernel ring buffer overflowed)`);
  for (const w of v.warnings ?? []) notes.push(`warning: ${w}`);
  if (v.stderr.length && !v.error) notes.push(`stderr:\n${v.stderr.join('\n')}`);
  const shown = v.lines.length ? `lines ${v.offset}-${v.offset + v.lines.length - 1} of ${v.lines_total}` : `no lines from offset ${v.offset} (${v.lines_total} in all)`;
  if (opts.omitLines) {
    // The caller streamed the lines already.
  } else if (v.has_more) {
    notes.push(`${shown}; ${['queued', 'running'].includes(v.status) ? 'still running: ' : ''}call get_result with execution_id "${v.execution_id}" and offset ${v.next_offset}${['queued', 'running'].includes(v.status) ? ' (wait: 5 to long-poll)' : ''} for more`);
  } else if (v.lines_total > v.lines.length) {
    notes.push(shown);
  }
  if (notes.length) out.push('', ...notes.map((n) => `-- ${n}`));
  return out.join('\n');
}

/**
 * Waits until the run ends (or, with `untilLines`, until there are more lines than that),
 * reporting progress. An abort of ctx.signal calls onAbort once and keeps waiting for the end,
 * so the final maps are still collected; without onAbort, an abort ends the wait.
 */
export function waitForExecution(
  e: Execution,
  ctx: CallContext,
  opts: { maxMs?: number; untilLines?: number; onAbort?: () => void } = {},
): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    let lastProgress = 0;
    let reportedLines = false;
    let sentLines = e.lines.length;
    const progress = (): Progress => ({ elapsedMs: e.durationMs() ?? 0, lines: e.lines.length, status: e.status, phase: e.phase });
    const onChange = () => {
      if (ctx.onLines && e.lines.length > sentLines) {
        const from = sentLines;
        sentLines = e.lines.length;
        ctx.onLines(e.lines.slice(from), from, e.mapPrints);
      }
      report();
      if (e.finished || (opts.untilLines !== undefined && e.lines.length > opts.untilLines)) done();
    };
    let trailing: NodeJS.Timeout | undefined;
    let closed = false;
    // The first line is reported at once (time to first event); later changes at most every
    // 200 ms, the last of a burst included, so a status change is never shown late.
    const report = () => {
      if (!ctx.onProgress || e.finished || closed) return;
      const now = Date.now();
      const firstLine = !reportedLines && e.lines.length > 0;
      if (firstLine || now - lastProgress >= 200) {
        if (trailing) clearTimeout(trailing);
        trailing = undefined;
        lastProgress = now;
        reportedLines ||= e.lines.length > 0;
        ctx.onProgress(progress());
      } else {
        trailing ??= setTimeout(() => {
          trailing = undefined;
          report();
        }, 200 - (now - lastProgress));
      }
    };
    const tick = setInterval(() => ctx.onProgress?.(progress()), 1000);
    const limit = opts.maxMs !== undefined ? setTimeout(done, Math.max(0, opts.maxMs - (Date.now() - started))) : undefined;
    // A cancelled run call stops the run (onAbort) and still waits for its maps; a cancelled
    // long-poll (get_result) just stops waiting.
    const onAbort = () => (opts.onAbort ? opts.onAbort() : done());
    function done() {
      closed = true;
      clearInterval(tick);
      if (trailing) clearTimeout(trailing);
      if (limit) clearTimeout(limit);
      e.off('change', onChange);
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    e.on('change', onChange);
    if (ctx.signal?.aborted) onAbort();
    else ctx.signal?.addEventListener('abort', onAbort, { once: true });
    onChange();
  });
}
