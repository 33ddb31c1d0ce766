import { MAPS_PAGE_MAX_BYTES, PAGE_MAX_BYTES, pageSize } from '../config/defaults.js';
import { MAP_KEYS_MAX } from '../runtime/bpftrace/command.js';
import { harmlessNotice } from '../runtime/bpftrace/notices.js';
import {
  durationMs,
  isFinished,
  type CompileError,
  type Execution,
  type ExecutionState,
  type ExecutionStatus,
  type FleetHostState,
} from '../runtime/execution.js';
import type { Column, HistBucket, Histogram, Row, TypedMap } from '../runtime/output-decoder.js';
import { phaseText } from './phase-text.js';
import type { CallContext, Progress, ToolResult } from './tool-result.js';

export interface PageOptions {
  offset?: number;
  limit?: number;
  includeMaps?: boolean;
}

/**
 * The execution_result of schemas/common.json: one page of output and everything known about
 * the run. test/unit/result-types.test.ts checks that this type and the schema name the same
 * fields, and every tool result in the tests is validated against the advertised schema.
 */
export type ExecutionResult = {
  execution_id: string;
  tool: string;
  status: ExecutionStatus;
  phase: string;
  exit_code: number | null;
  signal: string | null;
  /** MCPtrace's name: bpftrace's error text, with file:line:col for compile errors. */
  error_message: string | null;
  hint: string | null;
  /** A failed compile's errors, as validate_program reports them (category, place, fix). */
  errors?: CompileError[];
  /** Seconds, as MCPtrace reports it. */
  duration: number | null;
  started_at: string | null;
  ended_at: string | null;
  offset: number;
  /** MCPtrace's name: one page of output lines, exactly as bpftrace prints them. */
  output: string[];
  lines_returned: number;
  lines_total: number;
  has_more: boolean;
  next_offset: number;
  dropped: { lines: number; bytes: number; stderr_lines: number };
  limits: { max_lines: number; max_bytes: number };
  lost_events: number;
  attached_probes: number | null;
  stderr: string[];
  notices: string[];
  variant?: string;
  /** Providers the kernel refused at start-up before `variant` ran in this run, with their diagnosis. */
  refused_variants?: { variant: string; command: string; exit_code: number | null; error: string; hint?: string; stderr: string[] }[];
  /** The host this run traced (a fleet run's member). */
  host?: string;
  /** A fleet run: each host's own run and how it went. */
  hosts?: FleetHostState[];
  /** The run this one retries (exec_program's attempt_of), and which attempt this is. */
  attempt_of?: string;
  attempt?: number;
  maps?: Record<string, { type: string; value: unknown }>;
  /** Maps left out of `maps` whole (never cut) because one answer cannot hold them. */
  maps_omitted?: { name: string; type: string; keys: number; bytes: number }[];
  warnings: string[];
  /** The last lines of the traced command's own output (exec_program's command, bpftrace -c). */
  command_output?: string[];
  command_output_dropped?: number;
  /** A tool that prints a table (bcc tools): its columns, from the latest header line. */
  columns?: Column[];
  /** The typed rows read from this page's lines: same offset, limit and has_more as `output`. */
  rows?: Row[];
  /** Every histogram the tool printed, its latest print, whole. */
  histograms?: Histogram[];
  full_output?: { uri: string; lines_total: number };
};

/** Every field of ExecutionResult, for the schema check; the compiler keeps it complete. */
export const EXECUTION_RESULT_FIELDS: Record<keyof ExecutionResult, true> = {
  execution_id: true,
  tool: true,
  status: true,
  phase: true,
  exit_code: true,
  signal: true,
  error_message: true,
  hint: true,
  errors: true,
  duration: true,
  started_at: true,
  ended_at: true,
  offset: true,
  output: true,
  lines_returned: true,
  lines_total: true,
  has_more: true,
  next_offset: true,
  dropped: true,
  limits: true,
  lost_events: true,
  attached_probes: true,
  stderr: true,
  notices: true,
  variant: true,
  refused_variants: true,
  host: true,
  hosts: true,
  attempt_of: true,
  attempt: true,
  maps: true,
  maps_omitted: true,
  warnings: true,
  command_output: true,
  command_output_dropped: true,
  columns: true,
  rows: true,
  histograms: true,
  full_output: true,
};

/**
 * Every map goes in whole, smallest first, while they fit in MAPS_PAGE_MAX_BYTES; a map that
 * does not is named in maps_omitted, never cut: its text is whole in `output` (paged), and the
 * analysis reads it whole.
 */
function includeMaps(view: ExecutionResult, e: ExecutionState): void {
  const sized = [...e.maps.values()].map((m) => ({ m, json: JSON.stringify(m.value) ?? 'null' }));
  const maps: ExecutionResult['maps'] = {};
  const omitted: NonNullable<ExecutionResult['maps_omitted']> = [];
  let used = 0;
  for (const { m, json } of [...sized].sort((a, b) => a.json.length - b.json.length)) {
    if (used + json.length <= MAPS_PAGE_MAX_BYTES) {
      used += json.length;
      continue;
    }
    const keys = m.value && typeof m.value === 'object' ? Object.keys(m.value).length : 1;
    omitted.push({ name: m.name, type: m.type, keys, bytes: json.length });
  }
  const left = new Set(omitted.map((o) => o.name));
  // Printed order, as without the budget.
  for (const { m } of sized) if (!left.has(m.name)) maps[m.name] = { type: m.type, value: m.value };
  view.maps = maps;
  if (!omitted.length) return;
  view.maps_omitted = omitted;
  for (const o of omitted)
    view.warnings.push(
      `map ${o.name} (${o.keys} keys, ${o.bytes} bytes as JSON) is not in "maps": one answer holds at most ${MAPS_PAGE_MAX_BYTES} bytes of maps, and a map is never cut. ` +
        'Its text is whole in "output" (page it with offset and limit), and analyze_output reads it whole (top keys, percentiles).',
    );
}

/** The MCP resource holding a run's whole output (served by src/mcp/resources.ts). */
export const outputUri = (id: string): string => `mcptrace://executions/${id}/output`;

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms) / 1000);
const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

export function executionView(e: ExecutionState, page: PageOptions = {}): ExecutionResult {
  const offset = page.offset ?? 0;
  const limit = page.limit ?? pageSize();
  const lines = pageOf(e.lines, offset, limit);
  const end = Math.min(e.lines.length, offset + lines.length);
  const view: ExecutionResult = {
    execution_id: e.id,
    tool: e.tool,
    status: e.status,
    phase: phaseText(e),
    exit_code: e.exitCode ?? null,
    signal: e.signal ?? null,
    error_message: e.error ?? null,
    hint: e.hint ?? null,
    duration: seconds(durationMs(e)),
    started_at: iso(e.startedAt),
    ended_at: iso(e.endedAt),
    offset,
    output: lines,
    lines_returned: lines.length,
    lines_total: e.lines.length,
    has_more: end < e.lines.length || !isFinished(e),
    next_offset: Math.max(end, offset > e.lines.length ? e.lines.length : offset),
    dropped: { lines: e.droppedLines, bytes: e.droppedBytes, stderr_lines: e.droppedStderr },
    limits: { max_lines: e.limits.max_lines, max_bytes: e.limits.max_bytes },
    lost_events: e.lostEvents,
    attached_probes: e.attachedProbes ?? null,
    stderr: e.stderr.filter((l) => l.level !== 'notice' && l.level !== 'info').map((l) => l.text),
    notices: e.stderr.filter((l) => l.level === 'notice').map((l) => `${l.text} (${harmlessNotice(l.text)?.why ?? 'harmless'})`),
    warnings: [
      ...(e.preRunWarnings ?? []),
      ...(e.runWarnings ?? []),
      ...fullMaps(e).map(
        (m) =>
          `map ${m.name} holds ${m.keys} keys, the BPFTRACE_MAP_KEYS_MAX limit: bpftrace dropped any further keys without a word. Aggregate on fewer keys (e.g. by comm instead of pid), or filter with a predicate.`,
      ),
    ],
  };
  if (e.variant) view.variant = e.variant;
  if (e.host) view.host = e.host;
  if (e.fleet) view.hosts = e.fleet.map((h) => ({ ...h }));
  if (e.refusedProviders?.length) {
    view.refused_variants = e.refusedProviders.map((r) => ({
      variant: r.variant,
      command: r.command,
      exit_code: r.exitCode,
      error: r.error,
      ...(r.hint ? { hint: r.hint } : {}),
      stderr: [...r.stderr],
    }));
    // First among the warnings: the output comes from another provider than the caller may expect.
    view.warnings.unshift(
      `${e.refusedProviders.map((r) => r.variant).join(', then ')} ${e.refusedProviders.length > 1 ? 'were' : 'was'} refused by the kernel as ${e.refusedProviders.length > 1 ? 'they' : 'it'} started ` +
        `(${firstLine(e.refusedProviders[0].error)}), so ${e.variant ?? 'the next provider'}, the next one in the catalog's order, ran instead in this execution; ` +
        'each refusal and its diagnosis is in refused_variants.',
    );
  }
  if (e.commandOutput.length || e.droppedCommandOutput) {
    view.command_output = [...e.commandOutput];
    view.command_output_dropped = e.droppedCommandOutput;
  }
  const empty = emptyRunWarning(e);
  if (empty) view.warnings.push(empty);
  if (e.columns) {
    view.columns = [...e.columns];
    view.rows = (e.rows ?? []).filter((r) => r.line >= offset && r.line < offset + lines.length).map((r) => r.row);
  }
  if (e.histograms?.length) view.histograms = [...e.histograms];
  if (e.attemptOf) Object.assign(view, { attempt_of: e.attemptOf, attempt: e.attempt ?? 2 });
  if (e.errors?.length)
    view.errors = e.errors.map(({ category, message, line, column, snippet, suggestion }) => ({ category, message, line, column, snippet, suggestion }));
  if (e.overflowLines !== undefined) view.full_output = { uri: outputUri(e.id), lines_total: e.overflowLines };
  if (page.includeMaps) includeMaps(view, e);
  return view;
}

const firstLine = (text: string) => {
  const line = text.split('\n')[0];
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
};

/**
 * Up to `limit` lines from `offset`, and no more than PAGE_MAX_BYTES of them (at least one): a
 * page of 10,000 long lines crossed the 10 MiB an MCP client reads, and it disconnected. The
 * caller sees has_more and next_offset as for any page.
 */
function pageOf(lines: readonly string[], offset: number, limit: number): string[] {
  const page: string[] = [];
  let bytes = 0;
  for (let i = offset; i < lines.length && page.length < limit; i++) {
    bytes += lines[i].length + 1;
    if (page.length > 0 && bytes > PAGE_MAX_BYTES) break;
    page.push(lines[i]);
  }
  return page;
}

/**
 * A run that ended with nothing to show reads as success; a model then reports "no activity".
 * Say that nothing matched, and the usual reasons.
 */
function emptyRunWarning(e: ExecutionState): string | undefined {
  if (!isFinished(e) || e.status === 'failed' || e.maps.size > 0) return undefined;
  if (e.lines.some((l) => l !== '' && !/^Attach(ing|ed) \d+ probes?/.test(l))) return undefined;
  return (
    'no events matched: the probes attached, but nothing was printed and no map was filled. ' +
    'Check that a filter (/.../ predicate, pid, comm) can match, that the traced process is running and busy, or trace for longer.'
  );
}

/** Keys of a printed map; the decoder's key list when it has one (building `value` costs ms). */
const keyCount = (m: TypedMap): number =>
  m.keys?.length ?? (m.value && typeof m.value === 'object' && !Array.isArray(m.value) ? Object.keys(m.value as Record<string, HistBucket[]>).length : 0);

/** Maps that reached the key limit, where bpftrace silently stops adding keys. */
function fullMaps(e: ExecutionState): { name: string; keys: number }[] {
  return [...e.maps.values()]
    .map((m) => ({
      name: m.name,
      keys: keyCount(m),
    }))
    .filter((m) => m.keys >= MAP_KEYS_MAX);
}

/** The readable rendering of a view, as bpftrace prints output, framed by status. */
/**
 * `omitLines`: the caller showed the lines already. `streamed`: it wrote every line out as it
 * came, so the lines past the run's caps were not lost.
 */
export function renderExecutionText(v: ExecutionResult, opts: { omitLines?: boolean; streamed?: boolean } = {}): string {
  const secs = v.duration === null ? '' : ` after ${v.duration.toFixed(2)} s`;
  const head = `${v.execution_id} (${v.tool}): ${v.status}${secs}${v.exit_code !== null ? `, exit code ${v.exit_code}` : ''}`;
  const out = [head];
  if (['queued', 'running'].includes(v.status)) out.push(`phase: ${v.phase}`);
  if (v.output.length && !opts.omitLines) out.push('', ...v.output);
  const notes: string[] = [];
  if (v.error_message) notes.push(`error: ${v.error_message}`);
  if (v.hint) notes.push(`fix: ${v.hint}`);
  if (v.dropped.lines && !opts.streamed)
    notes.push(
      `${v.dropped.lines} lines (${v.dropped.bytes} bytes) were dropped past the output cap of ${v.limits.max_lines} lines / ${v.limits.max_bytes} bytes; the final map output is always kept`,
    );
  // A terminal streamed the run and ends with it, and the file with it: no resource to point at.
  if (v.full_output && !opts.omitLines)
    notes.push(
      `the whole output, ${v.full_output.lines_total} lines, is kept: read it in pages from the resource ${v.full_output.uri}?offset=0&limit=1000 (MCP resources/read)`,
    );
  for (const h of v.hosts ?? []) {
    const what = [h.bpftrace_version, h.execution_id].filter(Boolean).join(', ');
    notes.push(`${h.host}: ${h.status}${what ? ` (${what})` : ''}${h.error ? `: ${h.error}` : ''}${h.hint ? `; fix: ${h.hint}` : ''}`);
  }
  if (v.lost_events) notes.push(`bpftrace reported ${v.lost_events} lost events (the kernel ring buffer overflowed)`);
  for (const w of v.warnings ?? []) notes.push(`warning: ${w}`);
  if (v.stderr.length && !v.error_message) notes.push(`stderr:\n${v.stderr.join('\n')}`);
  const shown = v.output.length
    ? `lines ${v.offset}-${v.offset + v.output.length - 1} of ${v.lines_total}`
    : `no lines from offset ${v.offset} (${v.lines_total} in all)`;
  if (v.offset > 0 && v.output.length && !opts.omitLines) notes.push(`lines 0-${v.offset - 1} come before this page: call get_result with offset 0 for them`);
  if (v.command_output?.length && !opts.omitLines) {
    notes.push(`the command's own output${v.command_output_dropped ? ` (last ${v.command_output.length} lines)` : ''}:\n${v.command_output.join('\n')}`);
  }
  if (opts.omitLines) {
    // The caller streamed the lines already.
  } else if (v.has_more) {
    notes.push(
      `${shown}; ${['queued', 'running'].includes(v.status) ? 'still running: ' : ''}call get_result with execution_id "${v.execution_id}" and offset ${v.next_offset}${['queued', 'running'].includes(v.status) ? ' (wait: 5 to long-poll)' : ''} for more`,
    );
  } else if (v.lines_total > v.output.length) {
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
export function waitForExecution(e: Execution, ctx: CallContext, opts: { maxMs?: number; untilLines?: number; onAbort?: () => void } = {}): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    let lastProgress = 0;
    let reportedLines = false;
    let sentLines = e.lines.length;
    const progress = (): Progress => ({ elapsedMs: e.durationMs() ?? 0, lines: e.lines.length, status: e.status, phase: phaseText(e) });
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
        trailing ??= setTimeout(
          () => {
            trailing = undefined;
            report();
          },
          200 - (now - lastProgress),
        );
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

/** A run as a tool result: a failed run is an error result that still carries the run. */
export function executionResult(e: ExecutionState, page: PageOptions): ToolResult<ExecutionResult> {
  const v = executionView(e, page);
  return {
    structured: v,
    ...(v.full_output
      ? {
          links: [
            {
              uri: v.full_output.uri,
              name: `${v.execution_id}-output`,
              description: `The whole output of ${v.execution_id}: ${v.full_output.lines_total} lines, readable in pages (?offset=&limit=)`,
              mimeType: 'text/plain',
            },
          ],
        }
      : {}),
    text: renderExecutionText(v),
    isError: e.status === 'failed',
    errorKind: e.status === 'failed' ? 'failed' : e.status === 'timed_out' ? 'timeout' : undefined,
  };
}

/** Whether a tool's structured result is a run (and not, say, a dry run or an error). */
export const isExecutionResult = (s: object): s is ExecutionResult => 'execution_id' in s && 'lines_total' in s;
