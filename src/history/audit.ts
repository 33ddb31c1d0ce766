import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { HistoryStore } from './store.js';

/** One tool call, as the audit log keeps it. */
export interface AuditEntry {
  /** When the call arrived (ISO 8601, stored and returned in UTC). */
  at: string;
  /** 'token:NAME' | 'oauth:SUBJECT' | 'stdio:USER' | 'cli:USER' */
  who: string;
  via: 'http' | 'stdio' | 'cli';
  /** The client's address (http). */
  remote?: string;
  tool: string;
  /** The call's arguments, redacted and bounded (4 KiB a string, 16 KiB of JSON in all). */
  args?: Record<string, unknown>;
  /** The bpftrace program that ran, if any (bounded to 64 KiB). */
  program?: string;
  /** The argv that ran, if any. */
  argv?: string[];
  /** allow | warn | refuse | confirm (asked, or nobody to ask) | confirmed | declined | cancelled | scope | quota */
  verdict?: string;
  /** ok | asked (a person is being asked to confirm) | error:KIND (error:input, error:policy, error:cancelled, …) */
  outcome: string;
  executionId?: string;
  durationMs?: number;
}

export interface AuditQuery {
  /** Entries at or after this time. */
  since?: Date;
  /** Entries at or before this time. */
  until?: Date;
  /**
   * A caller: 'token:alice' matches that label exactly, 'token:' every label of that kind, and
   * a word without a colon ('alice') every label containing it, in any case.
   */
  who?: string;
  tool?: string;
  /** Default 100, at most 10,000. */
  limit?: number;
}

export interface AuditLog {
  /** Where entries go: 'history PATH' or the JSON-lines file, for messages. */
  readonly where: string;
  /**
   * Never throws. Synchronous: the entry is on disk when it returns, unless it cannot be
   * written (a full disk; another process holding the history's lock past its busy timeout):
   * then it is held in a bounded queue, written when the disk takes it again, and the trouble
   * reported once through `log`.
   */
  record(e: AuditEntry): void;
  /** Newest first; entries of this process not yet written included. Throws AuditError when the log cannot be read. */
  query(q?: AuditQuery): AuditEntry[];
  /** Writes what is held (or says what was lost). The history it was given stays open: its owner closes it. */
  close(): void;
}

/** The audit log could not be read: the message says where, and how to fix it. */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** The JSON-lines audit log of a state directory: where entries go when there is no history. */
export const AUDIT_FILE = 'audit.jsonl';

/** Past this, audit.jsonl becomes audit.jsonl.1 (one old generation): at most twice this on disk. */
export const MAX_AUDIT_FILE_BYTES = 64 * 1024 * 1024;

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 10_000;

const MAX_STRING_BYTES = 4 * 1024;
const MAX_ARGS_JSON_BYTES = 16 * 1024;
const MAX_PROGRAM_BYTES = 64 * 1024;
/** who, tool, outcome and the like: names, never texts. */
const MAX_LABEL_BYTES = 256;
const MAX_ARGV_ITEMS = 256;
/** How deep redact() follows nested values: deeper is a value built to hurt, not a call's arguments. */
const MAX_DEPTH = 64;

/** Entries held while the disk refuses them: enough for minutes of calls, never a memory problem. */
const MAX_PENDING = 1000;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** After a failed write, the next try waits this long, so a full disk is not hit on every call. */
const RETRY_MS = 1000;
/** Old audit rows deleted per statement, so that another writer waits milliseconds. */
const PRUNE_BATCH = 5000;

const REDACTED = '[redacted]';

/** A key whose value is a secret, whatever it holds. */
const SECRET_KEY = /(pass(word|wd)?|secret|token|api[_-]?key|authorization|cookie|credential|private[_-]?key)/i;

/**
 * Secrets by their shape, wherever they appear in a string: an mcptrace token, a Bearer
 * credential (its RFC 6750 characters, so "Bearer %s" in a printf stays), a JWT.
 */
const SECRET_SHAPE = /mcpt_[A-Za-z0-9_-]{20,}|\bbearer\s+[A-Za-z0-9._~+/-]+=*|\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/gi;
const BEARER = /^bearer\s+/i;

/** A string with every secret-shaped part replaced; the rest, a bpftrace program included, as it was. */
function redactString(s: string): string {
  // Most strings hold none of the shapes: test first, and copy only when one is there.
  SECRET_SHAPE.lastIndex = 0;
  if (!SECRET_SHAPE.test(s)) return s;
  return s.replace(SECRET_SHAPE, (m) => (BEARER.test(m) ? `${BEARER.exec(m)![0]}${REDACTED}` : REDACTED));
}

function truncate(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  const bytes = Buffer.byteLength(s);
  if (bytes <= maxBytes) return s;
  // Cut on a character boundary: a multi-byte character split in two decodes to U+FFFD.
  const head = Buffer.from(s)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${head}…[truncated: ${bytes} bytes in all]`;
}

const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * A copy of `value` with secrets replaced by "[redacted]": the value of every key that names
 * one (password, token, api_key, authorization, cookie, …), and every part of a string shaped
 * like one (mcpt_… tokens, Bearer credentials, JWTs). Arrays and plain objects are followed;
 * other objects are returned as they are. A boolean or null under a secret's key is kept: it
 * says whether one was given, not what it is.
 */
export function redact<T>(value: T): T {
  return scrub(value, { maxString: Infinity, json: false }, 0, new WeakSet()) as T;
}

/**
 * `json`: the copy is also what JSON would keep (a BigInt as its digits, undefined and
 * functions left out, a Date as its ISO text), so that an entry read back equals the entry
 * recorded, and stringifying it needs no replacer (a replacer made recording 3× slower, measured).
 */
function scrub(v: unknown, o: { maxString: number; json: boolean }, depth: number, seen: WeakSet<object>): unknown {
  if (typeof v === 'string') return truncate(redactString(v), o.maxString);
  if (o.json) {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  }
  if (typeof v !== 'object' || v === null) return v;
  const array = Array.isArray(v);
  if (!array && !isPlain(v)) {
    if (!o.json) return v;
    try {
      // What JSON.stringify makes of it (toJSON, own enumerable keys), then scrubbed like the rest.
      const plain: unknown = JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null');
      return scrub(plain, o, depth, seen);
    } catch {
      return '[not serializable]';
    }
  }
  if (seen.has(v)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(v);
  let out: unknown;
  if (array) {
    out = v.map((x) => {
      const y = scrub(x, o, depth + 1, seen);
      return y === undefined && o.json ? null : y;
    });
  } else {
    const copy: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const value = SECRET_KEY.test(k) && x !== null && x !== undefined && typeof x !== 'boolean' ? REDACTED : scrub(x, o, depth + 1, seen);
      if (value !== undefined || !o.json) copy[k] = value;
    }
    out = copy;
  }
  seen.delete(v);
  return out;
}

/**
 * The arguments redacted and within MAX_ARGS_JSON_BYTES: long strings are cut shorter and
 * shorter; if that is not enough (many keys), the keys that fit are kept, and one more says
 * what was left out.
 */
function boundArgs(args: unknown): Record<string, unknown> {
  const wrapped = isPlain(args) ? args : { value: args };
  let v: Record<string, unknown> = {};
  let bytes = 0;
  for (const maxString of [MAX_STRING_BYTES, 1024, 256]) {
    v = scrub(wrapped, { maxString, json: true }, 0, new WeakSet()) as Record<string, unknown>;
    bytes = Buffer.byteLength(JSON.stringify(v));
    if (bytes <= MAX_ARGS_JSON_BYTES) return v;
  }
  const kept: Record<string, unknown> = {};
  const entries = Object.entries(v);
  let used = 200; // the braces and the note below
  for (const [k, x] of entries) {
    const b = Buffer.byteLength(JSON.stringify({ [k]: x }));
    if (used + b > MAX_ARGS_JSON_BYTES) break;
    kept[k] = x;
    used += b;
  }
  const left = entries.length - Object.keys(kept).length;
  kept['[truncated]'] =
    `${left} of ${entries.length} arguments left out: they were ${bytes} bytes of JSON, more than the audit keeps (${MAX_ARGS_JSON_BYTES / 1024} KiB)`;
  return kept;
}

/** argv with the value of a secret-named option (--token X, --password=X, API_KEY=X) redacted too. */
function scrubArgv(argv: readonly unknown[]): string[] {
  const out: string[] = [];
  let secretNext = false;
  for (const raw of argv.slice(0, MAX_ARGV_ITEMS)) {
    let a = truncate(redactString(String(raw)), MAX_STRING_BYTES);
    if (secretNext) a = REDACTED;
    secretNext = false;
    const assign = /^(-{0,2}[A-Za-z0-9_.-]+)=/.exec(a);
    if (assign && SECRET_KEY.test(assign[1])) a = `${assign[1]}=${REDACTED}`;
    else if (/^--?[A-Za-z]/.test(a) && SECRET_KEY.test(a)) secretNext = true;
    out.push(a);
  }
  if (argv.length > MAX_ARGV_ITEMS) out.push(`…[truncated: ${argv.length} items in all]`);
  return out;
}

const label = (v: unknown, otherwise: string): string =>
  v === undefined || v === null || v === '' ? otherwise : truncate(redactString(String(v)), MAX_LABEL_BYTES);

const present = (v: unknown): boolean => v !== undefined && v !== null;

/** An entry as it is kept: times in UTC, secrets redacted, every field bounded, keys in one order ('at' first, for parseLine). */
function normalize(e: AuditEntry, now: number): AuditEntry {
  // A Date or a number where the ISO text belongs is taken as the time it is.
  const t = typeof e.at === 'string' ? Date.parse(e.at) : Number(e.at);
  // Set one by one, in the order the keys are to have.
  const out = {} as AuditEntry;
  out.at = new Date(Number.isFinite(t) ? t : now).toISOString();
  out.who = label(e.who, 'unknown');
  out.via = e.via === 'http' || e.via === 'stdio' || e.via === 'cli' ? e.via : (label(e.via, 'unknown') as AuditEntry['via']);
  if (present(e.remote)) out.remote = label(e.remote, '');
  out.tool = label(e.tool, 'unknown');
  if (present(e.args)) out.args = boundArgs(e.args);
  if (typeof e.program === 'string') out.program = truncate(redactString(e.program), MAX_PROGRAM_BYTES);
  if (Array.isArray(e.argv)) out.argv = scrubArgv(e.argv);
  if (present(e.verdict)) out.verdict = label(e.verdict, '');
  out.outcome = label(e.outcome, 'unknown');
  if (present(e.executionId)) out.executionId = label(e.executionId, '');
  const d = e.durationMs;
  if (typeof d === 'number' && Number.isFinite(d) && d >= 0) out.durationMs = d;
  return out;
}

/** Whether a caller's label is the one asked for (AuditQuery.who). */
function whoMatches(who: string, asked: string): boolean {
  if (!asked.includes(':')) return who.toLowerCase().includes(asked.toLowerCase());
  return asked.endsWith(':') ? who.startsWith(asked) : who === asked;
}

/** The label of a local caller: 'stdio:alice', 'cli:alice' (the OS user; its uid when it has no name). */
export function localCaller(via: 'stdio' | 'cli'): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // A uid without a passwd entry (a container's).
    user = `uid${process.getuid?.() ?? '?'}`;
  }
  return `${via}:${user}`;
}

const codeOf = (e: unknown): string => (typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '');
const isBusy = (e: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(codeOf(e));
const describe = (e: unknown): string => `${codeOf(e) || (e as Error)?.name || 'Error'}: ${(e as Error)?.message ?? String(e)}`;

interface Sink {
  readonly where: string;
  /** Throws when the entry was not written. */
  write(e: AuditEntry): void;
  read(q: AuditQuery, limit: number): AuditEntry[];
}

interface AuditRow {
  at: number;
  who: string;
  via: AuditEntry['via'];
  remote: string | null;
  tool: string;
  args: string | null;
  program: string | null;
  argv: string | null;
  verdict: string | null;
  outcome: string;
  execution_id: string | null;
  duration_ms: number | null;
}

function entryOf(r: AuditRow): AuditEntry {
  const e = { at: new Date(r.at).toISOString(), who: r.who, via: r.via } as AuditEntry;
  if (r.remote !== null) e.remote = r.remote;
  e.tool = r.tool;
  if (r.args !== null) e.args = JSON.parse(r.args) as Record<string, unknown>;
  if (r.program !== null) e.program = r.program;
  if (r.argv !== null) e.argv = JSON.parse(r.argv) as string[];
  if (r.verdict !== null) e.verdict = r.verdict;
  e.outcome = r.outcome;
  if (r.execution_id !== null) e.executionId = r.execution_id;
  if (r.duration_ms !== null) e.durationMs = r.duration_ms;
  return e;
}

/** The `audit` table of the run history (migration 4), written through the history's own connection. */
class HistorySink implements Sink {
  readonly where: string;
  private readonly insert: Database.Statement;
  private readonly selects = new Map<string, Database.Statement>();

  constructor(
    private readonly store: HistoryStore,
    private readonly db: Database.Database,
  ) {
    this.where = `history ${store.path}`;
    this.insert = db.prepare(
      `INSERT INTO audit (at, who, via, remote, tool, args, program, argv, verdict, outcome, execution_id, duration_ms)
       VALUES (@at, @who, @via, @remote, @tool, @args, @program, @argv, @verdict, @outcome, @execution_id, @duration_ms)`,
    );
  }

  /** Deletes rows older than the history keeps runs (its --history-max-age), a batch at a time. */
  prune(maxAgeDays: number, now: number): number {
    const del = this.db.prepare(`DELETE FROM audit WHERE n IN (SELECT n FROM audit WHERE at < ? ORDER BY at LIMIT ${PRUNE_BATCH})`);
    const cutoff = now - maxAgeDays * 86_400_000;
    let deleted = 0;
    try {
      for (;;) {
        const n = del.run(cutoff).changes;
        deleted += n;
        if (n < PRUNE_BATCH) return deleted;
      }
    } catch {
      // Another writer held the lock, or the disk refused: the next process to open it prunes.
      return deleted;
    }
  }

  write(e: AuditEntry): void {
    // The history stops writing once degraded: so does this table, for the same reason.
    if (!this.store.connection()) throw new Error(this.store.degraded ?? `the run history ${this.store.path} was closed`);
    this.insert.run({
      at: Date.parse(e.at),
      who: e.who,
      via: e.via,
      remote: e.remote ?? null,
      tool: e.tool,
      args: e.args === undefined ? null : JSON.stringify(e.args),
      program: e.program ?? null,
      argv: e.argv === undefined ? null : JSON.stringify(e.argv),
      verdict: e.verdict ?? null,
      outcome: e.outcome,
      execution_id: e.executionId ?? null,
      duration_ms: e.durationMs ?? null,
    });
  }

  read(q: AuditQuery, limit: number): AuditEntry[] {
    const terms: string[] = [];
    const params: Record<string, unknown> = { limit };
    if (q.since) {
      terms.push('at >= @since');
      params.since = q.since.getTime();
    }
    if (q.until) {
      terms.push('at <= @until');
      params.until = q.until.getTime();
    }
    if (q.tool !== undefined) {
      terms.push('tool = @tool');
      params.tool = q.tool;
    }
    if (q.who !== undefined) {
      params.who = q.who;
      if (!q.who.includes(':')) terms.push('instr(lower(who), lower(@who)) > 0');
      else if (q.who.endsWith(':')) terms.push('substr(who, 1, length(@who)) = @who');
      else terms.push('who = @who');
    }
    const sql = `SELECT * FROM audit ${terms.length ? `WHERE ${terms.join(' AND ')}` : ''} ORDER BY at DESC, n DESC LIMIT @limit`;
    try {
      if (!this.store.connection()) throw new Error(this.store.degraded ?? 'the history was closed in this process');
      let st = this.selects.get(sql);
      if (!st) this.selects.set(sql, (st = this.db.prepare(sql)));
      return (st.all(params) as AuditRow[]).map(entryOf);
    } catch (e) {
      throw new AuditError(
        `cannot read the audit log in the run history ${this.store.path} (${describe(e)}): check the disk and the file's permissions, ` +
          'or read the audit of a history-less run with --no-history.',
        { cause: e },
      );
    }
  }
}

/** Best effort: the file is this user's alone. */
function tighten(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // Absent, or not ours.
  }
}

function lastByte(file: string, size: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1);
    return fs.readSync(fd, b, 0, 1, size - 1) === 1 ? b[0] : -1;
  } finally {
    fs.closeSync(fd);
  }
}

/** Appended with O_APPEND, so lines of several processes never interleave. */
const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;

/**
 * The JSON-lines audit log: <stateDir>/audit.jsonl, mode 0600, one entry a line, and one old
 * generation (audit.jsonl.1). Opened for each entry rather than kept open, so that every
 * process writing it follows a rotation made by any of them.
 */
class JsonlSink implements Sink {
  readonly where: string;
  /** Whether the file may end in a line torn by a failed write: the next entry starts on a new line. */
  private mayBeTorn = true;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
  ) {
    this.where = file;
    tighten(file);
    tighten(`${file}.1`);
  }

  write(e: AuditEntry): void {
    const line = `${JSON.stringify(e)}\n`;
    let fd = this.open();
    try {
      const st = fs.fstatSync(fd);
      if ((st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
      let size = st.size;
      if (size > 0 && size + Buffer.byteLength(line) > this.maxBytes) {
        fs.closeSync(fd);
        fd = -1;
        this.rotate(Buffer.byteLength(line));
        fd = this.open();
        size = fs.fstatSync(fd).size;
      }
      let text = line;
      if (this.mayBeTorn && size > 0 && lastByte(this.file, size) !== 0x0a) text = `\n${line}`;
      this.mayBeTorn = false;
      const buf = Buffer.from(text);
      for (let off = 0; off < buf.length;) {
        try {
          off += fs.writeSync(fd, buf, off);
        } catch (err) {
          this.mayBeTorn = off > 0;
          throw err;
        }
      }
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  /** Moves the file to FILE.1, unless another process did a moment ago (then it is small again). */
  private rotate(adding: number): void {
    try {
      if (fs.statSync(this.file).size + adding > this.maxBytes) fs.renameSync(this.file, `${this.file}.1`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private open(): number {
    try {
      return fs.openSync(this.file, APPEND_FLAGS, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      return fs.openSync(this.file, APPEND_FLAGS, 0o600);
    }
  }

  read(q: AuditQuery, limit: number): AuditEntry[] {
    const found: AuditEntry[] = [];
    for (const f of [`${this.file}.1`, this.file]) {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new AuditError(
          `cannot read the audit log ${f} (${describe(e)}): make it readable by this user (uid ${process.getuid?.() ?? '?'}), ` +
            'or point --state-dir (or MCPTRACE_STATE_DIR) at the state directory that holds it.',
          { cause: e },
        );
      }
      for (const line of text.split('\n')) {
        const e = parseLine(line);
        if (e && matches(e, q)) found.push(e);
      }
    }
    // Written oldest first: reversed, the later of one millisecond comes first.
    return byTimeDesc(found.reverse()).slice(0, limit);
  }
}

/**
 * One line of audit.jsonl; undefined for what is not an entry. A line torn by a failed write
 * (a full disk) may have the next process's entry glued to it: that entry is read from where
 * it starts, since every entry's first key is "at".
 */
function parseLine(line: string): AuditEntry | undefined {
  if (!line.trim()) return undefined;
  for (const text of [line, line.slice(Math.max(0, line.lastIndexOf('{"at":')))]) {
    try {
      const e = JSON.parse(text) as AuditEntry;
      if (isPlain(e) && typeof e.at === 'string' && typeof e.who === 'string' && typeof e.tool === 'string') return e;
    } catch {
      // Torn: try its tail.
    }
  }
  return undefined;
}

function matches(e: AuditEntry, q: AuditQuery): boolean {
  const t = Date.parse(e.at);
  if (q.since && !(t >= q.since.getTime())) return false;
  if (q.until && !(t <= q.until.getTime())) return false;
  if (q.tool !== undefined && e.tool !== q.tool) return false;
  return q.who === undefined || whoMatches(e.who, q.who);
}

/** Newest first, by a stable sort: entries of one millisecond keep the order they came in. */
function byTimeDesc(entries: AuditEntry[]): AuditEntry[] {
  return entries
    .map((e) => ({ e, t: Date.parse(e.at) }))
    .sort((a, b) => b.t - a.t)
    .map((x) => x.e);
}

export interface OpenAuditOptions {
  /** The run history (lazyHistory's handle): entries go into it when it is on and healthy. */
  history?: () => HistoryStore | undefined;
  /** Where audit.jsonl goes without a history. */
  stateDir: string;
  /** Where trouble is reported (once per episode); default stderr. */
  log?: (msg: string) => void;
  /** Tests only: the size at which audit.jsonl rotates (MAX_AUDIT_FILE_BYTES). */
  maxFileBytes?: number;
  /** Tests only. */
  now?: () => number;
}

/**
 * The audit log of this process. Nothing is opened until the first record or query, so a
 * command that makes no call never loads SQLite for it. With a history that is on and
 * healthy, entries go into its `audit` table, and rows older than its --history-max-age are
 * deleted at that first use; otherwise into <stateDir>/audit.jsonl. A history that fails
 * later hands over to the file, said once. Reading merges the file in, so entries written
 * while the history was off or failing are found either way.
 */
export function openAudit(opts: OpenAuditOptions): AuditLog {
  return new Audit(opts);
}

class Audit implements AuditLog {
  private sink: Sink | undefined;
  private readonly jsonlFile: string;
  private jsonl: JsonlSink | undefined;
  private readonly pending: { entry: AuditEntry; bytes: number }[] = [];
  private pendingBytes = 0;
  private dropped = 0;
  /** Set while entries cannot be written: what went wrong (already reported). */
  private trouble: string | undefined;
  private retryAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: (msg: string) => void;
  private readonly now: () => number;

  constructor(private readonly opts: OpenAuditOptions) {
    this.jsonlFile = path.join(opts.stateDir, AUDIT_FILE);
    this.log = opts.log ?? ((m) => process.stderr.write(`mcptrace: ${m}\n`));
    this.now = opts.now ?? Date.now;
  }

  get where(): string {
    return this.resolve().where;
  }

  private file(): JsonlSink {
    this.jsonl ??= new JsonlSink(this.jsonlFile, this.opts.maxFileBytes ?? MAX_AUDIT_FILE_BYTES);
    return this.jsonl;
  }

  private resolve(): Sink {
    if (this.sink) return this.sink;
    const store = this.opts.history?.();
    const conn = store?.connection();
    if (store && !conn)
      this.log(`audit: the run history is not recording (${store.degraded ?? 'it was closed'}); audit entries go to ${this.jsonlFile} instead.`);
    if (store && conn) {
      try {
        const sink = new HistorySink(store, conn.db);
        sink.prune(conn.retention.maxAgeDays, this.now());
        this.sink = sink;
      } catch (e) {
        this.log(`audit: cannot use the run history ${store.path} (${describe(e)}); audit entries go to ${this.jsonlFile} instead.`);
      }
    }
    this.sink ??= this.file();
    return this.sink;
  }

  record(e: AuditEntry): void {
    try {
      const entry = normalize(e, this.now());
      // Roughly what it weighs, without stringifying the program: its long parts are few.
      const bytes =
        256 + (entry.program?.length ?? 0) + (entry.args ? JSON.stringify(entry.args).length : 0) + (entry.argv?.reduce((n, a) => n + a.length + 3, 0) ?? 0);
      this.pending.push({ entry, bytes });
      this.pendingBytes += bytes;
      while (this.pending.length > MAX_PENDING || this.pendingBytes > MAX_PENDING_BYTES) {
        this.pendingBytes -= this.pending.shift()!.bytes;
        this.dropped++;
      }
      if (this.now() >= this.retryAt) this.drain();
    } catch (err) {
      this.report(`an entry could not be recorded (${describe(err)}); this is a bug in mcptrace, please report it`);
    }
  }

  /** Writes what is held, oldest first, until the sink refuses one. */
  private drain(): void {
    const hadTrouble = this.trouble;
    while (this.pending.length) {
      const sink = this.resolve();
      try {
        sink.write(this.pending[0].entry);
      } catch (e) {
        if (sink instanceof HistorySink && !isBusy(e)) {
          this.sink = this.file();
          this.log(`audit: cannot write to the run history (${(e as Error).message}); audit entries go to ${this.jsonlFile} from now on.`);
          continue;
        }
        this.report(this.why(sink, e));
        this.retryAt = this.now() + RETRY_MS;
        // No call may come for a while: try again by itself, without keeping the process alive.
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, RETRY_MS).unref();
        return;
      }
      this.pendingBytes -= this.pending.shift()!.bytes;
    }
    if (hadTrouble) {
      const lost = this.dropped ? `; ${this.dropped} older ones were dropped to stay within ${MAX_PENDING} held entries` : '';
      this.log(`audit: writing to ${this.resolve().where} again; the entries held meanwhile were written${lost}.`);
      this.trouble = undefined;
      this.dropped = 0;
    }
  }

  private why(sink: Sink, e: unknown): string {
    if (isBusy(e)) return `another process held the run history's write lock too long (${describe(e)})`;
    const code = codeOf(e);
    const fix =
      code === 'ENOSPC'
        ? `free space on that disk`
        : code === 'ELOOP'
          ? `${sink.where} is a symbolic link, which the audit log does not follow: remove it`
          : `make ${path.dirname(this.jsonlFile)} and ${sink.where} writable by this user (uid ${process.getuid?.() ?? '?'})`;
    return `cannot write to ${sink.where} (${describe(e)}): ${fix}, or point --state-dir (or MCPTRACE_STATE_DIR) elsewhere`;
  }

  /** Once per episode of trouble: the calls go on, and stderr must not fill with the same line. */
  private report(why: string): void {
    if (this.trouble) return;
    this.trouble = why;
    this.log(`audit: ${why}. Calls go on; up to ${MAX_PENDING} entries are held in memory and written once this is fixed.`);
  }

  query(q: AuditQuery = {}): AuditEntry[] {
    const asked = q.limit !== undefined && Number.isFinite(q.limit) ? Math.floor(q.limit) : DEFAULT_AUDIT_LIMIT;
    const limit = Math.min(Math.max(1, asked), MAX_AUDIT_LIMIT);
    const sink = this.resolve();
    const found = sink.read(q, limit);
    if (sink !== this.jsonl && fs.existsSync(this.jsonlFile)) found.push(...this.file().read(q, limit));
    for (let i = this.pending.length - 1; i >= 0; i--) if (matches(this.pending[i].entry, q)) found.push(this.pending[i].entry);
    return byTimeDesc(found).slice(0, limit);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length) this.drain();
    if (this.pending.length) {
      this.log(`audit: ${this.pending.length} entries could not be written and are lost (${this.trouble ?? 'see above'}).`);
      this.pending.length = 0;
      this.pendingBytes = 0;
    }
  }
}
