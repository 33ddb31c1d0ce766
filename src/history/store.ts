import fs from 'node:fs';
import os from 'node:os';
import type Database from 'better-sqlite3';
import type { ExecutionRecord, ExecutionStatus } from '../runtime/execution.js';
import { MAX_INDEXED_OUTPUT_CHARS, markDamaged, openHistoryDb, type OpenOptions } from './db.js';
import { sessionCallsProblem, sessionNameProblem, type Session, type SessionCall } from './sessions.js';

export type { Session, SessionCall } from './sessions.js';

export interface Retention {
  maxRuns: number;
  maxAgeDays: number;
  maxBytes: number;
}

/** What a laptop lives with: a month of busy use, in a file that is small next to a browser's cache. */
export const DEFAULT_RETENTION: Readonly<Retention> = { maxRuns: 5000, maxAgeDays: 30, maxBytes: 256 * 1024 * 1024 };

/** What the caller knows about a run that its ExecutionRecord does not say. */
export interface RunMeta {
  id: string;
  tool: string;
  input: unknown;
  program?: string;
  argv: readonly string[];
  bpftraceVersion?: string;
  kernel: string;
  host: string;
  policyVerdict?: string;
  session?: string;
}

/** A run's status as stored: 'interrupted' when the process recording it died before it finished. */
export type StoredStatus = ExecutionStatus | 'interrupted';

export interface StoredRun {
  /** `pid`: the process that recorded the run (mcptrace, not the tracer). */
  meta: RunMeta & { pid: number };
  /** Its lines complete as recorded. */
  record: ExecutionRecord & { status: StoredStatus };
}

export interface RunListFilter {
  tool?: string;
  status?: StoredStatus | StoredStatus[];
  /** createdAt >= since (ms since the epoch). */
  since?: number;
  /** createdAt <= until. */
  until?: number;
  session?: string;
  limit?: number;
}

export interface RunSummary {
  id: string;
  tool: string;
  status: StoredStatus;
  createdAt: number;
  endedAt?: number;
  summary?: string;
  error?: string;
  attemptOf?: string;
  attempt?: number;
  session?: string;
  bytes: number;
  lineCount: number;
}

export type SearchField = 'program' | 'input' | 'error' | 'output' | 'tool';

export interface SearchHit extends RunSummary {
  /** Higher is better (bm25, sign flipped). */
  score: number;
  /** The best passage of `field`, the matched words in « » (brackets would read as bpftrace map syntax). */
  snippet: string;
  field: SearchField;
  /** Id of the first run of its attempt_of chain. */
  chain: string;
}

/** The hits of one attempt chain, best first. */
export interface SearchGroup {
  chain: string;
  runs: SearchHit[];
}

/** A mistake of the caller's (a bad session name, a duplicate id): the message says how to fix it. */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

/**
 * A sanity bound on one run's stored lines, far above what the runtime's own caps let through
 * (16 MiB): it only stops a runaway caller from filling the disk.
 */
const MAX_STORED_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Tries after SQLITE_BUSY, each after busy_timeout has already waited. Few, because each wait
 * blocks the event loop; past them one batch is dropped (counted) rather than the history.
 */
const BUSY_BACKOFF_MS = [25, 150];

/** Hits ranked before grouping; groups are cut to the filter's limit after. */
const MAX_SEARCH_HITS = 500;
const DEFAULT_SEARCH_GROUPS = 20;

/** Deletions per write transaction in prune(), so that other writers wait milliseconds, not seconds. */
const PRUNE_BATCH = 200;

/** The search index's columns, in order (db.ts ranks them with FTS_RANK). */
const FTS_COLUMNS: readonly SearchField[] = ['tool', 'program', 'input', 'error', 'output'];
/** Which column's snippet a hit shows when several matched: the most telling first. */
const FIELD_ORDER: readonly SearchField[] = ['program', 'error', 'input', 'tool', 'output'];

const LIVE_STATUSES = `('queued', 'running')`;

/** /proc/PID/stat: the process's state (field 3) and start time in clock ticks after boot (field 22). */
function procStat(pid: number): { state: string; start: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

const SELF = { pid: process.pid, start: procStat(process.pid)?.start, boot: readBootId(), host: os.hostname() };

/** JSON that survives what a caller's input may hold (a BigInt) instead of throwing mid-write. */
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null';

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const codeOf = (e: unknown): string => (typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '');
const isBusy = (e: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(codeOf(e));
const isDiskTrouble = (e: unknown): boolean => /^SQLITE_(FULL|IOERR|CORRUPT|NOTADB|CANTOPEN|READONLY)/.test(codeOf(e));

/** A runtime's output never contains these, and snippet() marks matches with them. */
const MARK_OPEN = '\u0001';
const MARK_CLOSE = '\u0002';
const unmark = (s: string): string => s.replaceAll(MARK_OPEN, ' ').replaceAll(MARK_CLOSE, ' ');

/**
 * A user's words as an FTS5 query that cannot be a syntax error: each word a quoted phrase
 * (its own quotes doubled), so AND, NEAR, *, -, ( and : are just text. Words are ANDed; the
 * last is a prefix (from three characters on), so a query typed half-way finds something.
 * Undefined when no word has a letter or digit (nothing could match).
 */
export function ftsQuery(query: string): string | undefined {
  const words = query.split(/\s+/u).filter((w) => /[\p{L}\p{N}]/u.test(w));
  if (!words.length) return undefined;
  // A prefix of one or two characters matches most of the vocabulary (every number starting
  // with 4), and costs a snippet() of it milliseconds per hit: only longer words are prefixes.
  const prefix = (w: string) => /[\p{L}\p{N}]{3}$/u.test(w);
  return words.map((w, i) => `"${w.replaceAll('"', '""')}"${i === words.length - 1 && prefix(w) ? '*' : ''}`).join(' ');
}

/** The text of a run the search index holds, by column. */
function searchDoc(meta: Partial<RunMeta>, record: ExecutionRecord): Record<SearchField, string> {
  let output = '';
  for (const line of record.lines ?? []) {
    if (output.length + line.length + 1 > MAX_INDEXED_OUTPUT_CHARS) break;
    output += `${line}\n`;
  }
  const error = [
    record.error,
    record.hint,
    ...(record.errors ?? []).flatMap((e) => [e.message, e.suggestion ?? undefined]),
    ...(record.stderr ?? []).filter((l) => l.level === 'error').map((l) => l.text),
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  const doc = {
    tool: [meta.tool ?? record.tool, record.variant].filter(Boolean).join(' '),
    program: meta.program ?? '',
    input: meta.input === undefined ? '' : toJson(meta.input),
    error: error.join('\n'),
    output,
  };
  for (const k of FTS_COLUMNS) doc[k] = unmark(doc[k]);
  return doc;
}

interface RunRow {
  n: number;
  id: string;
  tool: string;
  status: StoredStatus;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
  summary: string | null;
  error: string | null;
  attempt_of: string | null;
  attempt: number | null;
  chain: string;
  session: string | null;
  owner_pid: number;
  owner_start: number | null;
  owner_boot: string | null;
  owner_host: string;
  meta: string;
  record: string;
  line_count: number;
  lines_bytes: number;
  lines_dropped: number;
  bytes: number;
}

/** Where a run's stored lines stand. */
interface LineState {
  n: number;
  line_count: number;
  lines_bytes: number;
  lines_dropped: number;
}

/** What this process knows of a run it records, until finish(). */
interface LiveRun {
  meta: RunMeta;
  /** While its row does not exist: the latest record seen, to insert it late. */
  record?: ExecutionRecord;
  /** Whether its row exists (false after a begin() dropped on SQLITE_BUSY). */
  stored: boolean;
  /** The record JSON last written, to skip rewriting one that did not change. */
  recordJson?: string;
}

const SUMMARY_COLUMNS =
  'r.id, r.tool, r.status, r.created_at, r.ended_at, r.summary, r.error, r.attempt_of, r.attempt, r.session, r.bytes, r.line_count, r.chain';

function toSummary(
  r: Pick<RunRow, 'id' | 'tool' | 'status' | 'created_at' | 'ended_at' | 'summary' | 'error' | 'attempt_of' | 'attempt' | 'session' | 'bytes' | 'line_count'>,
): RunSummary {
  return {
    id: r.id,
    tool: r.tool,
    status: r.status,
    createdAt: r.created_at,
    ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
    ...(r.summary !== null ? { summary: r.summary } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    ...(r.attempt_of !== null ? { attemptOf: r.attempt_of } : {}),
    ...(r.attempt !== null ? { attempt: r.attempt } : {}),
    ...(r.session !== null ? { session: r.session } : {}),
    bytes: r.bytes,
    lineCount: r.line_count,
  };
}

/** The WHERE terms of a filter over `runs r`, and their parameters. */
function filterSql(f: RunListFilter & { includeFailed?: boolean }): { terms: string[]; params: Record<string, unknown> } {
  const terms: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.tool !== undefined) {
    terms.push('r.tool = @tool');
    params.tool = f.tool;
  }
  if (f.status !== undefined) {
    const list = Array.isArray(f.status) ? f.status : [f.status];
    terms.push(list.length ? `r.status IN (${list.map((_, i) => `@status${i}`).join(', ')})` : '0');
    list.forEach((s, i) => (params[`status${i}`] = s));
  }
  if (f.includeFailed === false) terms.push(`r.status <> 'failed'`);
  if (f.since !== undefined) {
    terms.push('r.created_at >= @since');
    params.since = f.since;
  }
  if (f.until !== undefined) {
    terms.push('r.created_at <= @until');
    params.until = f.until;
  }
  if (f.session !== undefined) {
    terms.push('r.session = @session');
    params.session = f.session;
  }
  return { terms, params };
}

/** One line saying why the history stopped recording, and what the user can do about it. */
function degradedReason(e: unknown, file: string): string {
  const code = codeOf(e) || (e as Error)?.name || 'Error';
  const message = (e as Error)?.message ?? String(e);
  const elsewhere = 'move the history with MCPTRACE_STATE_DIR or --state-dir, or turn it off with --no-history';
  const head = 'the run history stopped recording';
  if (/^SQLITE_FULL/.test(code) || /ENOSPC/.test(code))
    return `${head}: the disk is full at ${file} (${code}): free space on that disk, or ${elsewhere}. Runs go on, unrecorded.`;
  if (/^SQLITE_READONLY|^SQLITE_CANTOPEN|^SQLITE_PERM|^SQLITE_AUTH/.test(code))
    return `${head}: ${file} cannot be written (${code}: ${message}): make it and its directory writable by uid ${process.getuid?.() ?? '?'}, or ${elsewhere}.`;
  if (/^SQLITE_IOERR/.test(code)) return `${head}: an I/O error at ${file} (${code}: ${message}): check the disk (dmesg), or ${elsewhere}.`;
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code))
    return `${head}: ${file} is damaged (${code}): mcptrace moves it aside and starts a new history the next time it opens it; or ${elsewhere}.`;
  return `${head}: writing ${file} failed (${code}: ${message}); or ${elsewhere}.`;
}

/**
 * The run history: every run's metadata, final record and output lines, searchable, in one
 * SQLite file that several mcptrace processes (a server, CLI commands) write at once.
 * Synchronous on purpose: a write is a fraction of a millisecond, and a run's rows change
 * only through its own process.
 *
 * Disk trouble never reaches the caller: the first failed write sets `degraded` (why, and how
 * to fix it) and later writes do nothing. Only a caller's mistakes throw (HistoryError).
 */
export class HistoryStore {
  private reason: string | undefined;
  private closed = false;
  private readonly live = new Map<string, LiveRun>();
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly q: ReturnType<typeof statements>;
  private readonly cache = new Map<string, Database.Statement>();
  /** Write batches dropped after SQLITE_BUSY outlasted every retry (another process held the lock). */
  droppedWrites = 0;
  /** What the last dropped batch was, for a warning. */
  lastDropped: string | undefined;

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
    private readonly retention: Retention,
    private readonly now: () => number,
  ) {
    this.tx = db.transaction((fn: () => unknown) => fn());
    this.q = statements(db);
  }

  /**
   * Opens the history at `path`, creating or migrating it. `warnings` say what was moved aside
   * and why (a damaged or foreign file). Throws only when no history can be had at all: the
   * caller then runs without one and says so.
   */
  static open(path: string, opts: { retention?: Partial<Retention>; now?: () => number } & OpenOptions = {}): { store: HistoryStore; warnings: string[] } {
    const { db, warnings } = openHistoryDb(path, opts);
    const store = new HistoryStore(path, db, { ...DEFAULT_RETENTION, ...opts.retention }, opts.now ?? Date.now);
    return { store, warnings };
  }

  /** Set once a write failed (disk full, I/O error, read-only): why, and how to fix it. Later writes do nothing. */
  get degraded(): string | undefined {
    return this.reason;
  }

  /**
   * This history's connection and retention, for a module that keeps its own table in the same
   * file (the audit log, audit.ts): one connection per process, so its writes queue behind ours
   * instead of contending for the lock from a second one. Undefined once degraded or closed.
   */
  connection(): { db: Database.Database; retention: Readonly<Retention> } | undefined {
    return this.reason || this.closed ? undefined : { db: this.db, retention: this.retention };
  }

  /**
   * Runs `fn` in a write transaction (BEGIN IMMEDIATE: the lock is taken up front, so a
   * transaction never fails half-way on another writer). Returns undefined when nothing was
   * written: history degraded, or the batch was dropped after SQLITE_BUSY.
   */
  private write<T>(what: string, fn: () => T): T | undefined {
    if (this.reason || this.closed) return undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.tx.immediate(fn) as T;
      } catch (e) {
        if (e instanceof HistoryError) throw e;
        if (isBusy(e)) {
          if (attempt < BUSY_BACKOFF_MS.length) {
            sleepSync(BUSY_BACKOFF_MS[attempt]);
            continue;
          }
          this.droppedWrites++;
          this.lastDropped = `${what}: another process held the history's write lock through ${BUSY_BACKOFF_MS.length + 1} waits of busy_timeout`;
          return undefined;
        }
        this.fail(e);
        return undefined;
      }
    }
  }

  private fail(e: unknown): void {
    this.reason ??= degradedReason(e, this.path);
    if (/^SQLITE_(CORRUPT|NOTADB)/.test(codeOf(e))) markDamaged(this.path, `${codeOf(e)}: ${(e as Error).message}`);
  }

  /** Runs a read; a damaged or unreadable file degrades the history and reads as empty. */
  private read<T>(fn: () => T, otherwise: T): T {
    if (this.closed) return otherwise;
    for (let attempt = 0; ; attempt++) {
      try {
        return fn();
      } catch (e) {
        if (e instanceof HistoryError) throw e;
        if (isBusy(e) && attempt < BUSY_BACKOFF_MS.length) {
          sleepSync(BUSY_BACKOFF_MS[attempt]);
          continue;
        }
        // A damaged or vanished file stops the writes too; anything else fails this read alone.
        if (isDiskTrouble(e)) this.fail(e);
        return otherwise;
      }
    }
  }

  /** Inserts a run's row; the run's live entry (if any) learns the record JSON written. */
  private insertRow(meta: RunMeta, record: ExecutionRecord, live = this.live.get(meta.id)): number {
    const json = toJson({ ...meta });
    const recordJson = toJson({ ...record, lines: undefined });
    try {
      const info = this.q.insert.run({
        id: meta.id,
        tool: meta.tool,
        now: this.now(),
        owner_pid: SELF.pid,
        owner_start: SELF.start ?? null,
        owner_boot: SELF.boot ?? null,
        owner_host: SELF.host,
        session: meta.session ?? null,
        meta: json,
        ...this.stateParams(record, recordJson),
        bytes: Buffer.byteLength(json) + Buffer.byteLength(recordJson),
      });
      if (live) live.recordJson = recordJson;
      return Number(info.lastInsertRowid);
    } catch (e) {
      if (/^SQLITE_CONSTRAINT/.test(codeOf(e))) {
        throw new HistoryError(
          `a run with id ${meta.id} is already in the history (${this.path}): run ids must be unique; check idExists() and pick another id`,
        );
      }
      throw e;
    }
  }

  private stateParams(record: ExecutionRecord, recordJson: string) {
    return {
      status: record.status,
      created_at: record.createdAt,
      ended_at: record.endedAt ?? null,
      summary: record.summary ?? null,
      error: record.error ?? null,
      attempt_of: record.attemptOf ?? null,
      attempt: record.attempt ?? null,
      record: recordJson,
      record_bytes: Buffer.byteLength(recordJson),
    };
  }

  /**
   * The row number of a run this process may write, inserting it now if its begin() was
   * dropped. A run that neither this process began nor the file holds is the caller's mistake.
   * Undefined when there is no row to write into.
   */
  private rowOf(id: string, record?: ExecutionRecord): LineState | undefined {
    const row = this.q.rowLite.get(id) as LineState | undefined;
    if (row) return row;
    const live = this.live.get(id);
    if (!live) throw new HistoryError(`no run ${id} in the history (${this.path}): call begin() for it first`);
    // Its row was there and is gone (deleted by hand): nothing to write into, and no one to blame.
    const latest = record ?? live.record;
    if (!latest) return undefined;
    const n = this.insertRow(live.meta, latest, live);
    live.stored = true;
    delete live.record;
    return { n, line_count: 0, lines_bytes: 0, lines_dropped: 0 };
  }

  /** Records a new run, owned by this process until finish(). Throws HistoryError when the id is taken. */
  begin(meta: RunMeta, record: ExecutionRecord): void {
    if (meta.id !== record.id) throw new HistoryError(`begin(): meta.id ${meta.id} and record.id ${record.id} differ: pass the same run's meta and record`);
    if (this.live.has(meta.id)) {
      throw new HistoryError(`a run with id ${meta.id} is already in the history (${this.path}): run ids must be unique; check idExists() and pick another id`);
    }
    const live: LiveRun = { meta: { ...meta }, record, stored: false };
    const done = this.write(`begin ${meta.id}`, () => {
      this.insertRow(live.meta, record, live);
      return true;
    });
    // Kept even when not written: a later write of this run inserts it then.
    live.stored = done === true;
    if (live.stored) delete live.record;
    this.live.set(meta.id, live);
  }

  /**
   * Stores output lines: `lines[i]` is the run's line `firstIndex + i`. Lines already stored are
   * skipped, so a batch sent twice is harmless. A batch past a gap (an earlier one was dropped)
   * is kept; finish() fills the gap from the final record.
   */
  appendLines(id: string, firstIndex: number, lines: readonly string[]): void {
    if (!lines.length) return;
    this.write(`lines ${firstIndex}..${firstIndex + lines.length - 1} of ${id}`, () => {
      const row = this.rowOf(id);
      if (!row) return;
      const skip = Math.max(0, row.line_count - firstIndex);
      if (skip >= lines.length) return;
      this.storeLines(row, firstIndex + skip, lines.slice(skip));
    });
  }

  /** One batch of lines, within the sanity bound. */
  private storeLines(row: { n: number; lines_bytes: number }, first: number, lines: readonly string[]): void {
    let bytes = 0;
    let kept = 0;
    for (const l of lines) {
      const b = Buffer.byteLength(l) + 1;
      if (row.lines_bytes + bytes + b > MAX_STORED_LINE_BYTES) break;
      bytes += b;
      kept++;
    }
    if (kept) this.q.chunk.run(row.n, first, kept, JSON.stringify(lines.slice(0, kept)));
    this.q.lines.run({ n: row.n, end: first + lines.length, bytes, dropped: lines.length - kept, now: this.now() });
    row.lines_bytes += bytes;
  }

  /** A state snapshot (its lines are ignored: they come through appendLines). Cheap when nothing changed. */
  update(id: string, record: ExecutionRecord): void {
    const live = this.live.get(id);
    if (live && !live.stored) live.record = record;
    const json = toJson({ ...record, lines: undefined });
    if (live?.stored && live.recordJson === json) {
      // Unchanged: only say the owner is still at it (an interrupted run ends at its last write).
      this.write(`heartbeat ${id}`, () => this.q.heartbeat.run({ id, now: this.now() }));
      return;
    }
    this.write(`state of ${id}`, () => {
      const row = this.rowOf(id, record);
      if (row) this.writeState(row.n, record, json);
    });
  }

  private writeState(n: number, record: ExecutionRecord, json: string): void {
    this.q.state.run({ n, now: this.now(), ...this.stateParams(record, json) });
    const live = this.live.get(record.id);
    if (live) live.recordJson = json;
  }

  /** The final snapshot: state, any lines not stored yet, and the search index. */
  finish(id: string, record: ExecutionRecord): void {
    const live = this.live.get(id);
    const json = toJson({ ...record, lines: undefined });
    this.write(`finish ${id}`, () => {
      const row = this.rowOf(id, record);
      if (!row) return;
      this.writeState(row.n, record, json);
      this.fillLines(row, record.lines);
      const meta = live?.meta ?? (JSON.parse((this.q.row.get(id) as RunRow).meta) as RunMeta);
      this.index(row.n, meta, record);
    });
    // Nothing retries a finish, so the run is forgotten even when it was not written.
    this.live.delete(id);
  }

  /** Stores the lines of `lines` that no batch holds yet (the tail, and gaps left by dropped batches). */
  private fillLines(row: LineState, lines: readonly string[]): void {
    // Past the sanity bound, what is missing was dropped on purpose.
    if (row.lines_dropped) return;
    const ranges = this.q.chunkRanges.all(row.n) as { first: number; count: number }[];
    let at = 0;
    for (const r of [...ranges, { first: lines.length, count: 0 }]) {
      const end = Math.min(r.first, lines.length);
      if (end > at) this.storeLines(row, at, lines.slice(at, end));
      at = Math.max(at, r.first + r.count);
    }
  }

  private index(n: number, meta: Partial<RunMeta>, record: ExecutionRecord): void {
    const doc = searchDoc(meta, record);
    this.q.ftsDelete.run(n);
    this.q.ftsInsert.run({ n, ...doc });
    this.q.ftsBytes.run({ n, b: FTS_COLUMNS.reduce((s, k) => s + Buffer.byteLength(doc[k]), 0) });
  }

  /**
   * A run as stored, its lines complete; undefined when there is none. `lines: false` leaves
   * the lines out (an empty array; RunSummary.lineCount says how many), for listings.
   */
  load(id: string, opts: { lines?: boolean } = {}): StoredRun | undefined {
    return this.read(() => {
      const row = this.q.row.get(id) as RunRow | undefined;
      return row && this.assemble(row, opts.lines !== false);
    }, undefined);
  }

  /** A run from its row; without `withLines`, its lines are left out (empty), for a listing. */
  private assemble(row: RunRow, withLines = true): StoredRun {
    const lines: string[] = [];
    const gaps: string[] = [];
    const chunks = withLines ? (this.q.chunks.all(row.n) as { first: number; count: number; text: string }[]) : [];
    for (const c of chunks) {
      if (c.first > lines.length) {
        gaps.push(c.first - 1 > lines.length ? `${lines.length + 1}–${c.first}` : `${c.first}`);
        while (lines.length < c.first) lines.push('');
      }
      const batch = JSON.parse(c.text) as string[];
      // One by one: spreading a 100,000-line batch into push() overflows the stack.
      for (let i = lines.length - c.first; i < batch.length; i++) lines.push(batch[i]);
    }
    const stored = JSON.parse(row.record) as StoredRun['record'];
    const warnings = [...(stored.runWarnings ?? [])];
    if (gaps.length) warnings.push(`lines ${gaps.join(', ')} were not recorded in the history (another process held it locked): they are empty here`);
    if (row.lines_dropped) {
      warnings.push(
        `the history kept the first ${MAX_STORED_LINE_BYTES / 1024 / 1024} MiB of this run's output: ${row.lines_dropped} later lines were not stored`,
      );
    }
    const record: StoredRun['record'] = {
      ...stored,
      status: row.status,
      lines,
      droppedLines: stored.droppedLines + row.lines_dropped,
      ...(warnings.length ? { runWarnings: warnings } : {}),
    };
    const meta = JSON.parse(row.meta) as RunMeta;
    return { meta: { ...meta, pid: row.owner_pid }, record };
  }

  /** A statement for SQL built from a filter's shape: there are few shapes, so each is prepared once. */
  private prepared(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.cache.size < 100) this.cache.set(sql, st);
    }
    return st;
  }

  /** Runs, newest first. */
  list(filter: RunListFilter = {}): RunSummary[] {
    const { terms, params } = filterSql(filter);
    const sql =
      `SELECT ${SUMMARY_COLUMNS} FROM runs r ${terms.length ? `WHERE ${terms.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.n DESC` +
      (filter.limit !== undefined ? ' LIMIT @limit' : '');
    if (filter.limit !== undefined) params.limit = filter.limit;
    return this.read(() => (this.prepared(sql).all(params) as RunRow[]).map(toSummary), []);
  }

  /**
   * Finished runs matching every word of `query` (in the program, the input, the error, the
   * tool or the output), ranked by bm25 and grouped by attempt chain: a failed attempt and
   * the fix that followed it are one group. `limit` counts groups. Never throws on the query.
   */
  search(query: string, filter: RunListFilter & { includeFailed?: boolean } = {}): SearchGroup[] {
    const match = ftsQuery(query);
    if (!match) return [];
    const { terms, params } = filterSql(filter);
    const sql = `SELECT ${SUMMARY_COLUMNS}, r.n, runs_fts.rank AS rank
      FROM runs_fts JOIN runs r ON r.n = runs_fts.rowid
      WHERE runs_fts MATCH @match ${terms.map((t) => `AND ${t}`).join(' ')}
      ORDER BY runs_fts.rank LIMIT ${MAX_SEARCH_HITS}`;
    return this.read(() => {
      const rows = this.prepared(sql).all({ ...params, match }) as (RunRow & { rank: number })[];
      const groups = new Map<string, (RunRow & { rank: number })[]>();
      for (const r of rows) {
        const g = groups.get(r.chain);
        if (g) g.push(r);
        else groups.set(r.chain, [r]);
      }
      // Rows came best first, so each group is in order and groups are ordered by their first hit.
      return [...groups]
        .slice(0, filter.limit ?? DEFAULT_SEARCH_GROUPS)
        .map(([chain, hits]) => ({ chain, runs: hits.map((r) => ({ ...toSummary(r), score: -r.rank, chain, ...this.snippet(match, r.n) })) }));
    }, []);
  }

  /** The passage of the most telling column that matched, the matched words in « » (brackets would read as bpftrace map syntax). */
  private snippet(match: string, n: number): { snippet: string; field: SearchField } {
    const row = this.q.snippets.get({ match, n }) as Record<string, string | null> | undefined;
    const of = (f: SearchField) => row?.[`s${FTS_COLUMNS.indexOf(f)}`] ?? '';
    const field = FIELD_ORDER.find((f) => of(f).includes(MARK_OPEN)) ?? 'output';
    const snippet = of(field).replaceAll(MARK_OPEN, '«').replaceAll(MARK_CLOSE, '»').replace(/\s+/g, ' ').trim();
    return { snippet, field };
  }

  /**
   * Runs left queued or running by a process that is gone (crashed, killed, or the machine
   * rebooted) become 'interrupted', ended at their last write, and searchable. Runs of live
   * processes, and of other hosts (which cannot be checked), are left alone. Returns their ids.
   */
  markInterrupted(): string[] {
    const rows = this.read(() => this.q.liveRuns.all() as Pick<RunRow, 'n' | 'id' | 'owner_pid' | 'owner_start' | 'owner_boot' | 'owner_host'>[], []);
    const gone = rows.filter((r) => !ownerAlive(r));
    if (!gone.length) return [];
    const done: string[] = [];
    this.write('mark interrupted runs', () => {
      for (const r of gone) {
        const error =
          `the process that ran it (mcptrace, pid ${r.owner_pid}) ended before the run finished: it crashed or was killed. ` +
          'The output up to its last write was kept; run it again for a complete result.';
        if (this.q.interrupt.run({ n: r.n, error }).changes === 0) continue;
        const stored = this.assemble(this.q.row.get(r.id) as RunRow);
        this.index(r.n, stored.meta, stored.record);
        done.push(r.id);
      }
    });
    return done;
  }

  /**
   * Deletes finished runs, oldest first, until the history is within `retention` (by age,
   * then count, then size). A queued or running run is never deleted. The file gives the
   * freed pages back to the disk.
   */
  prune(retention: Partial<Retention> = {}): { deleted: number; bytesFreed: number } {
    const r = { ...this.retention, ...retention };
    const cutoff = this.now() - r.maxAgeDays * 86_400_000;
    const victims = this.read(() => {
      const finished = this.db.prepare(`SELECT n, created_at, bytes FROM runs WHERE status NOT IN ${LIVE_STATUSES} ORDER BY created_at, n`).all() as {
        n: number;
        created_at: number;
        bytes: number;
      }[];
      const totals = this.db.prepare('SELECT count(*) AS runs, coalesce(sum(bytes), 0) AS bytes FROM runs').get() as { runs: number; bytes: number };
      let runs = totals.runs;
      let bytes = totals.bytes;
      const out: { n: number; bytes: number }[] = [];
      for (const f of finished) {
        if (f.created_at >= cutoff && runs <= r.maxRuns && bytes <= r.maxBytes) break;
        out.push(f);
        runs--;
        bytes -= f.bytes;
      }
      return out;
    }, []);
    let deleted = 0;
    let bytesFreed = 0;
    const del = this.db.prepare('DELETE FROM runs WHERE n = ?');
    for (let i = 0; i < victims.length; i += PRUNE_BATCH) {
      const batch = victims.slice(i, i + PRUNE_BATCH);
      const ok = this.write('prune', () => {
        for (const v of batch) {
          if (del.run(v.n).changes) {
            deleted++;
            bytesFreed += v.bytes;
          }
        }
        return true;
      });
      if (!ok) break;
    }
    if (deleted) this.vacuum();
    return { deleted, bytesFreed };
  }

  /** Gives free pages back to the disk, a few MiB per transaction. */
  private vacuum(): void {
    for (let i = 0; i < 10_000; i++) {
      const free = this.read(() => this.db.pragma('freelist_count', { simple: true }) as number, 0);
      if (!free) return;
      if (this.write('vacuum', () => (this.db.pragma('incremental_vacuum(1024)'), true)) === undefined) return;
    }
  }

  stats(): { runs: number; bytes: number; fileBytes: number } {
    const t = this.read(() => this.db.prepare('SELECT count(*) AS runs, coalesce(sum(bytes), 0) AS bytes FROM runs').get() as { runs: number; bytes: number }, {
      runs: 0,
      bytes: 0,
    });
    let fileBytes = 0;
    for (const f of [this.path, `${this.path}-wal`]) {
      try {
        fileBytes += fs.statSync(f).size;
      } catch {
        // No WAL right now.
      }
    }
    return { ...t, fileBytes };
  }

  idExists(id: string): boolean {
    return this.live.has(id) || this.read(() => this.q.exists.get(id) === 1, false);
  }

  /**
   * Saves a session. Throws HistoryError on a bad name or calls, on a name taken (unless
   * `replace`), and when it could not be written: the user asked for this save and must know.
   */
  saveSession(s: Omit<Session, 'createdAt'> & { createdAt?: number }, opts: { replace?: boolean } = {}): Session {
    const nameProblem = sessionNameProblem(s.name);
    if (nameProblem) throw new HistoryError(nameProblem);
    const callsProblem = sessionCallsProblem(s.calls);
    if (callsProblem) throw new HistoryError(`session ${s.name}: ${callsProblem}`);
    const session: Session = {
      name: s.name,
      ...(s.description ? { description: s.description } : {}),
      createdAt: s.createdAt ?? this.now(),
      calls: s.calls.map((c): SessionCall => ({ tool: c.tool, input: c.input })),
    };
    const saved = this.write(`session ${s.name}`, () => {
      if (!opts.replace && this.q.session.get(s.name)) {
        throw new HistoryError(`a session named ${s.name} already exists: choose another name, or replace it (--replace)`);
      }
      this.q.sessionPut.run({ name: session.name, description: session.description ?? null, created_at: session.createdAt, calls: toJson(session.calls) });
      return true;
    });
    if (!saved) throw new HistoryError(`session ${s.name} was not saved: ${this.reason ?? this.lastDropped ?? 'the history is closed'}`);
    return session;
  }

  getSession(name: string): Session | undefined {
    return this.read(() => {
      const row = this.q.session.get(name) as { name: string; description: string | null; created_at: number; calls: string } | undefined;
      return row && sessionOf(row);
    }, undefined);
  }

  /** Sessions, newest first, with how many runs were recorded in each and when the last was. */
  listSessions(): (Session & { runs: number; lastRunAt?: number })[] {
    return this.read(
      () =>
        (this.q.sessions.all() as { name: string; description: string | null; created_at: number; calls: string; runs: number; last_run: number | null }[]).map(
          (r) => ({ ...sessionOf(r), runs: r.runs, ...(r.last_run !== null ? { lastRunAt: r.last_run } : {}) }),
        ),
      [],
    );
  }

  /** Deletes a session (its runs stay); false when there was none. */
  deleteSession(name: string): boolean {
    const deleted = this.write(`delete session ${name}`, () => this.q.sessionDelete.run(name).changes > 0);
    if (deleted === undefined) throw new HistoryError(`session ${name} was not deleted: ${this.reason ?? this.lastDropped ?? 'the history is closed'}`);
    return deleted;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // Keeps the query planner's statistics fresh, cheaply (SQLite's advice for a closing connection).
      if (!this.reason) this.db.pragma('optimize');
    } catch {
      // Only statistics.
    }
    try {
      this.db.close();
    } catch {
      // Closing checkpoints the WAL; a full disk may refuse, and the WAL is replayed on next open.
    }
  }
}

function statements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insert: p(
      `INSERT INTO runs (id, tool, status, created_at, updated_at, ended_at, summary, error, attempt_of, attempt, chain, session,
                         owner_pid, owner_start, owner_boot, owner_host, meta, record, bytes)
       VALUES (@id, @tool, @status, @created_at, @now, @ended_at, @summary, @error, @attempt_of, @attempt,
               coalesce((SELECT chain FROM runs WHERE id = @attempt_of), @attempt_of, @id), @session,
               @owner_pid, @owner_start, @owner_boot, @owner_host, @meta, @record, @bytes)`,
    ),
    row: p('SELECT * FROM runs WHERE id = ?'),
    rowLite: p('SELECT n, line_count, lines_bytes, lines_dropped FROM runs WHERE id = ?'),
    state: p(
      `UPDATE runs SET status = @status, ended_at = @ended_at, summary = @summary, error = @error, attempt_of = @attempt_of,
              attempt = @attempt, record = @record, updated_at = @now,
              bytes = length(CAST(meta AS BLOB)) + @record_bytes + lines_bytes + fts_bytes
       WHERE n = @n`,
    ),
    heartbeat: p('UPDATE runs SET updated_at = @now WHERE id = @id'),
    chunk: p('INSERT OR IGNORE INTO run_lines (run, first, count, text) VALUES (?, ?, ?, ?)'),
    chunkRanges: p('SELECT first, count FROM run_lines WHERE run = ? ORDER BY first'),
    chunks: p('SELECT first, count, text FROM run_lines WHERE run = ? ORDER BY first'),
    lines: p(
      `UPDATE runs SET line_count = max(line_count, @end), lines_bytes = lines_bytes + @bytes, lines_dropped = lines_dropped + @dropped,
              bytes = bytes + @bytes, updated_at = @now WHERE n = @n`,
    ),
    ftsDelete: p('DELETE FROM runs_fts WHERE rowid = ?'),
    ftsInsert: p('INSERT INTO runs_fts (rowid, tool, program, input, error, output) VALUES (@n, @tool, @program, @input, @error, @output)'),
    ftsBytes: p('UPDATE runs SET bytes = bytes - fts_bytes + @b, fts_bytes = @b WHERE n = @n'),
    exists: p('SELECT 1 FROM runs WHERE id = ?').pluck(),
    liveRuns: p(`SELECT n, id, owner_pid, owner_start, owner_boot, owner_host FROM runs WHERE status IN ${LIVE_STATUSES}`),
    interrupt: p(
      `UPDATE runs SET status = 'interrupted', ended_at = updated_at, error = @error,
              record = json_set(record, '$.status', 'interrupted', '$.phase', 'ended-error', '$.endedAt', updated_at, '$.error', @error)
       WHERE n = @n AND status IN ${LIVE_STATUSES}`,
    ),
    snippets: p(
      `SELECT ${FTS_COLUMNS.map((_, i) => `snippet(runs_fts, ${i}, char(1), char(2), '…', 16) AS s${i}`).join(', ')}
       FROM runs_fts WHERE runs_fts MATCH @match AND rowid = @n`,
    ),
    session: p('SELECT name, description, created_at, calls FROM sessions WHERE name = ?'),
    sessionPut: p('INSERT OR REPLACE INTO sessions (name, description, created_at, calls) VALUES (@name, @description, @created_at, @calls)'),
    sessionDelete: p('DELETE FROM sessions WHERE name = ?'),
    sessions: p(
      `SELECT s.name, s.description, s.created_at, s.calls,
              (SELECT count(*) FROM runs WHERE session = s.name) AS runs,
              (SELECT max(created_at) FROM runs WHERE session = s.name) AS last_run
       FROM sessions s ORDER BY s.created_at DESC, s.name`,
    ),
  };
}

function sessionOf(r: { name: string; description: string | null; created_at: number; calls: string }): Session {
  return {
    name: r.name,
    ...(r.description !== null ? { description: r.description } : {}),
    createdAt: r.created_at,
    calls: JSON.parse(r.calls) as SessionCall[],
  };
}

/**
 * Whether the process that owns a run still runs: same boot, and a process with that pid that
 * started when the owner did (a reused pid started later). Another host's cannot be checked,
 * so they count as alive.
 */
function ownerAlive(r: Pick<RunRow, 'owner_pid' | 'owner_start' | 'owner_boot' | 'owner_host'>): boolean {
  if (r.owner_host !== SELF.host) return true;
  if (r.owner_boot && SELF.boot && r.owner_boot !== SELF.boot) return false;
  if (SELF.start === undefined) {
    // No /proc: a signal 0 says whether the pid exists (EPERM: it does, someone else's).
    try {
      process.kill(r.owner_pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const stat = procStat(r.owner_pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return r.owner_start === null || stat.start === r.owner_start;
}
