import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type Database from 'better-sqlite3';

/**
 * Marks a SQLite file as mcptrace's run history ("mctr"), so a file of another program that
 * happens to sit at our path is never read as ours, nor migrated into it.
 */
export const APPLICATION_ID = 0x6d637472;

/** How long a write waits for another process's transaction before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * The search index's ranking: bm25 with a weight per column (tool, program, input, error,
 * output), since a word of the program or the error says more about a run than one of its
 * output. Set in the index itself, so `ORDER BY rank` sorts inside FTS5 (1.5× faster than
 * calling bm25() per row, measured). A new weighting is a new migration step.
 */
export const FTS_RANK = 'bm25(2, 10, 4, 6, 1)';

/**
 * A file up to this size gets a full `quick_check` at open (it reads every page: ~3 ms per MiB,
 * measured); a bigger one only when a process saw damage in it (damageMarker), so that opening
 * a full history for a CLI command costs milliseconds, not a second. SQLite reports damage it
 * meets anyway (SQLITE_CORRUPT), which is what leaves the marker.
 */
export const FULL_CHECK_MAX_BYTES = 16 * 1024 * 1024;

/** A file next to the history that says a process met damage in it: the next open checks it fully. */
export const damageMarker = (file: string): string => `${file}.damaged`;

/** Leaves the marker (best effort: a history that cannot be written cannot be marked either). */
export function markDamaged(file: string, why: string): void {
  try {
    fs.writeFileSync(damageMarker(file), `${new Date().toISOString()} ${why}\n`, { mode: 0o600 });
  } catch {
    // The next open's checks still see what SQLite sees.
  }
}

/** The output text of one run that goes into the search index (more is stored, not indexed). */
export const MAX_INDEXED_OUTPUT_CHARS = 256 * 1024;

interface Migration {
  version: number;
  /** What the step adds, and why: a reader of an old file sees what it lacks. */
  why: string;
  sql: string;
}

/**
 * The schema, as the ordered steps that build it; `user_version` is the number of steps a
 * file has had. A step is never edited once released: a change is a new step, so that a file
 * written by any older mcptrace is brought up to date by running the steps it lacks.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    why: 'runs, their output lines and their owner process',
    sql: `
      PRAGMA application_id = ${APPLICATION_ID};
      CREATE TABLE runs (
        n INTEGER PRIMARY KEY,            -- the search index's rowid for this run
        id TEXT NOT NULL UNIQUE,
        tool TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,      -- last write: an interrupted run ended about then
        ended_at INTEGER,
        summary TEXT,
        error TEXT,
        attempt_of TEXT,
        attempt INTEGER,
        chain TEXT NOT NULL,              -- id of the first run of its attempt_of chain
        session TEXT,
        owner_pid INTEGER NOT NULL,       -- the process that records it, to tell a crash from a run still going
        owner_start INTEGER,              -- that process's start time (/proc/PID/stat field 22), against pid reuse
        owner_boot TEXT,                  -- /proc/sys/kernel/random/boot_id: after a reboot every owner is gone
        owner_host TEXT NOT NULL,         -- another host's processes cannot be checked
        meta TEXT NOT NULL,               -- RunMeta as JSON
        record TEXT NOT NULL,             -- ExecutionRecord as JSON, without its lines
        line_count INTEGER NOT NULL DEFAULT 0,
        lines_bytes INTEGER NOT NULL DEFAULT 0,
        lines_dropped INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0  -- approximate stored size, for retention
      );
      CREATE INDEX runs_created ON runs(created_at);
      CREATE INDEX runs_chain ON runs(chain);
      CREATE INDEX runs_live ON runs(status) WHERE status IN ('queued', 'running');
      -- Lines arrive in batches, stored a row per batch: 22% smaller and 27% faster to write than a
      -- row per line (measured, 40-line runs in 2 batches), and as fast to read back.
      CREATE TABLE run_lines (
        run INTEGER NOT NULL REFERENCES runs(n) ON DELETE CASCADE,
        first INTEGER NOT NULL,           -- index of the batch's first line in the run's output
        count INTEGER NOT NULL,
        text TEXT NOT NULL,               -- the batch's lines as a JSON array
        PRIMARY KEY (run, first)
      );
    `,
  },
  {
    version: 2,
    why: 'full-text search over finished runs',
    sql: `
      CREATE VIRTUAL TABLE runs_fts USING fts5(tool, program, input, error, output, tokenize = 'unicode61 remove_diacritics 2');
      INSERT INTO runs_fts (runs_fts, rank) VALUES ('rank', '${FTS_RANK}');
      ALTER TABLE runs ADD COLUMN fts_bytes INTEGER NOT NULL DEFAULT 0;
      CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
        DELETE FROM runs_fts WHERE rowid = old.n;
      END;
      -- Runs that finished under version 1 become searchable too.
      INSERT INTO runs_fts (rowid, tool, program, input, error, output)
        SELECT n,
          tool || coalesce(' ' || json_extract(record, '$.variant'), ''),
          coalesce(json_extract(meta, '$.program'), ''),
          coalesce(json_extract(meta, '$.input'), ''),
          concat_ws(char(10), error, json_extract(record, '$.hint'),
            (SELECT group_concat(concat_ws(char(10), json_extract(e.value, '$.message'), json_extract(e.value, '$.suggestion')), char(10))
               FROM json_each(record, '$.errors') e)),
          coalesce((SELECT substr(group_concat(value, char(10)), 1, ${MAX_INDEXED_OUTPUT_CHARS})
            FROM (SELECT j.value FROM run_lines l, json_each(l.text) j WHERE l.run = runs.n ORDER BY l.first, j.key)), '')
        FROM runs WHERE status NOT IN ('queued', 'running');
      UPDATE runs SET fts_bytes = (SELECT length(CAST(tool || program || input || error || output AS BLOB)) FROM runs_fts WHERE rowid = runs.n)
        WHERE status NOT IN ('queued', 'running');
      UPDATE runs SET bytes = bytes + fts_bytes;
    `,
  },
  {
    version: 3,
    why: 'sessions: named lists of tool calls to replay',
    sql: `
      CREATE TABLE sessions (
        name TEXT PRIMARY KEY,
        description TEXT,
        created_at INTEGER NOT NULL,
        calls TEXT NOT NULL               -- SessionCall[] as JSON
      );
      CREATE INDEX runs_session ON runs(session, created_at) WHERE session IS NOT NULL;
    `,
  },
  {
    version: 4,
    why: 'the audit log: who called which tool, when, and what came of it (src/history/audit.ts)',
    sql: `
      CREATE TABLE audit (
        n INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,              -- when the call arrived, ms since the epoch
        who TEXT NOT NULL,                -- token:NAME, oauth:SUBJECT, stdio:USER or cli:USER
        via TEXT NOT NULL,                -- http, stdio or cli
        remote TEXT,                      -- the client's address (http)
        tool TEXT NOT NULL,
        args TEXT,                        -- the call's arguments as JSON, redacted and bounded
        program TEXT,
        argv TEXT,                        -- JSON array
        verdict TEXT,
        outcome TEXT NOT NULL,
        execution_id TEXT,
        duration_ms REAL
      );
      -- One index only: a row is written on every call, and a second index (on execution_id) made
      -- that write ~15% slower (measured). --who is a substring, which no index serves; read newest
      -- first along audit_at, a query stops at its limit.
      CREATE INDEX audit_at ON audit(at);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

type SqliteCtor = typeof Database;
let sqlite: SqliteCtor | undefined;

/**
 * better-sqlite3 is a native module: loaded on first use, so that a build for another Node ABI
 * costs the history alone (the caller runs without it) rather than every command at import.
 */
function sqliteLib(): SqliteCtor {
  if (!sqlite) {
    try {
      sqlite = createRequire(import.meta.url)('better-sqlite3') as SqliteCtor;
    } catch (e) {
      throw new Error(
        `the SQLite module (better-sqlite3) could not be loaded: ${(e as Error).message}. ` +
          'Rebuild it for this Node version (npm rebuild better-sqlite3), or turn history off with --no-history.',
      );
    }
  }
  return sqlite;
}

/**
 * Lets prune() give freed pages back to the disk. Only possible while the file is new: before
 * its first table, and before journal_mode = WAL, which writes the header.
 */
function incrementalVacuum(db: Database.Database): void {
  if ((db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number) === 0) db.pragma('auto_vacuum = INCREMENTAL');
}

/** Runs the steps a file lacks, each in its own write transaction; `upTo` stops early (tests build old files). */
export function migrate(db: Database.Database, upTo = SCHEMA_VERSION): number {
  incrementalVacuum(db);
  for (const step of MIGRATIONS) {
    if (step.version > upTo) break;
    db.transaction(() => {
      // Read inside the write lock: another process may have run this step a moment ago.
      const at = db.pragma('user_version', { simple: true }) as number;
      if (at >= step.version) return;
      db.exec(step.sql);
      db.pragma(`user_version = ${step.version}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

type Verdict =
  { kind: 'usable'; db: Database.Database } | { kind: 'corrupt'; reason: string } | { kind: 'foreign'; reason: string } | { kind: 'newer'; version: number };

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

const sqliteCode = (e: unknown): string => (typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '');
const isDamage = (e: unknown): boolean => /^SQLITE_(NOTADB|CORRUPT)/.test(sqliteCode(e));

/** Whether an existing file is a history database this version can use, and if not, why. */
function inspect(file: string, fullCheckMaxBytes: number): Verdict {
  // Judged before SQLite opens it: closing a connection deletes a WAL it could not use, and
  // the WAL of a damaged file may hold its last runs.
  let db: Database.Database | undefined;
  try {
    const header = readHeader(file);
    if (header.length > 0 && !SQLITE_MAGIC.equals(header)) {
      return { kind: 'corrupt', reason: 'it is not a SQLite database (its first bytes are not "SQLite format 3")' };
    }
    db = new (sqliteLib())(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
    if (appId !== APPLICATION_ID && !(appId === 0 && objects === 0)) {
      db.close();
      const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
      return {
        kind: 'foreign',
        reason:
          appId === 0
            ? 'it is a SQLite database of another program'
            : `it is a SQLite database of another program (application_id ${hex(appId)}, not ${hex(APPLICATION_ID)})`,
      };
    }
    if (version > SCHEMA_VERSION) {
      db.close();
      return { kind: 'newer', version };
    }
    const marked = fs.existsSync(damageMarker(file));
    if (marked || fs.statSync(file).size <= fullCheckMaxBytes) {
      const check = (db.pragma('quick_check') as { quick_check: string }[])
        .flatMap((r) => r.quick_check.split('\n'))
        .filter((l) => !/^\*\*\* in database/.test(l));
      if (check.join() !== 'ok') {
        db.close();
        const more = check.length > 1 ? `; and ${check.length - 1} more problem${check.length > 2 ? 's' : ''}` : '';
        return { kind: 'corrupt', reason: `it is damaged (quick_check: ${check[0]}${more})` };
      }
      if (marked) fs.rmSync(damageMarker(file), { force: true });
    }
    return { kind: 'usable', db };
  } catch (e) {
    db?.close();
    if (isDamage(e)) {
      const what = sqliteCode(e).startsWith('SQLITE_NOTADB') ? 'it is not a readable SQLite database' : 'it is damaged';
      return { kind: 'corrupt', reason: `${what} (${sqliteCode(e)}: ${(e as Error).message})` };
    }
    throw cannotOpen(file, e);
  }
}

function cannotOpen(file: string, e: unknown): Error {
  const code = sqliteCode(e) || (e as NodeJS.ErrnoException)?.code || 'error';
  return new Error(
    `cannot open the run history ${file} (${code}: ${(e as Error).message}): ` +
      `make ${path.dirname(file)} and the file readable and writable by this user (uid ${process.getuid?.() ?? '?'}), ` +
      'point MCPTRACE_STATE_DIR (or --state-dir) at a directory that is, or turn history off with --no-history.',
    { cause: e },
  );
}

/** 20240131T235959, local time: sorts, and says when in a file name. */
function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}T${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * Renames a file we will not use, with its WAL and shared-memory files, out of the way.
 * Undefined when it is already gone: another process, opening it at the same moment, moved it.
 */
function moveAside(file: string, kind: string): string | undefined {
  let dest = `${file}.${kind}-${stamp()}`;
  for (let i = 2; fs.existsSync(dest); i++) dest = `${file}.${kind}-${stamp()}-${i}`;
  try {
    fs.renameSync(file, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(
      `the run history ${file} cannot be used (${kind}) and cannot be moved aside (${(e as NodeJS.ErrnoException).code}: ${(e as Error).message}): ` +
        `move or delete it by hand, point MCPTRACE_STATE_DIR (or --state-dir) elsewhere, or turn history off with --no-history.`,
      { cause: e },
    );
  }
  fs.rmSync(damageMarker(file), { force: true });
  for (const side of SIDE_FILES) {
    try {
      fs.renameSync(file + side, dest + side);
    } catch {
      // Most of the time there is none.
    }
  }
  return dest;
}

/**
 * Makes the history's directory, private: the runs hold programs, their output and the
 * machine's data. An existing directory is tightened only when it is ours (we made it, or it is
 * the mcptrace state directory), never a directory the user pointed us into.
 */
function ensureDir(dir: string): void {
  let created: string | undefined;
  try {
    created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new Error(
      `cannot create the run history directory ${dir} (${(e as NodeJS.ErrnoException).code}: ${(e as Error).message}): ` +
        'create it writable by this user, point MCPTRACE_STATE_DIR (or --state-dir) at a writable directory, or turn history off with --no-history.',
      { cause: e },
    );
  }
  if (created !== undefined || path.basename(dir) === 'mcptrace') {
    try {
      if ((fs.statSync(dir).mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    } catch {
      // Someone else's directory: theirs to set.
    }
  }
}

/** The file and its side files readable by this user only. */
function tighten(file: string): void {
  for (const f of [file, ...SIDE_FILES.map((s) => file + s)]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch {
      // Absent, or not ours.
    }
  }
}

function configure(db: Database.Database, file: string, warnings: string[], busyTimeoutMs = BUSY_TIMEOUT_MS): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  incrementalVacuum(db);
  const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
  if (mode !== 'wal') {
    warnings.push(
      `the run history ${file} is on a filesystem without shared memory for SQLite's WAL (journal mode ${mode}): ` +
        'processes writing it at once wait for each other longer; move it to a local disk with MCPTRACE_STATE_DIR or --state-dir.',
    );
  }
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // The WAL is truncated back to this after a checkpoint, so a big prune does not leave a big file.
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

/**
 * Opens (creating or migrating) the run history at `file`. A file that is damaged, belongs to
 * another program or was written by a newer mcptrace is moved aside, never read or changed,
 * and a new history started: the warning says where the old one went. Throws only when no
 * history can be had at all (say, the directory is not writable); the caller then runs without.
 */
export interface OpenOptions {
  /** Tests only: how big a file gets a full check at open (FULL_CHECK_MAX_BYTES). */
  fullCheckMaxBytes?: number;
  /** Tests only: how long a write waits for another writer (BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

export function openHistoryDb(file: string, opts: OpenOptions = {}): { db: Database.Database; warnings: string[] } {
  const warnings: string[] = [];
  ensureDir(path.dirname(file));
  let db: Database.Database | undefined;
  if (fs.existsSync(file)) {
    const verdict = inspect(file, opts.fullCheckMaxBytes ?? FULL_CHECK_MAX_BYTES);
    if (verdict.kind === 'usable') {
      db = verdict.db;
      try {
        configure(db, file, warnings, opts.busyTimeoutMs);
        migrate(db);
      } catch (e) {
        db.close();
        db = undefined;
        if (!isDamage(e)) throw cannotOpen(file, e);
        const dest = moveAside(file, 'corrupt');
        if (dest) warnings.push(movedMessage(file, dest, `it is damaged (${sqliteCode(e)}: ${(e as Error).message})`));
      }
    } else {
      const dest = moveAside(file, verdict.kind);
      const why =
        verdict.kind === 'newer'
          ? `it was written by a newer mcptrace (schema version ${verdict.version}; this one knows up to ${SCHEMA_VERSION}), and this version must not change it`
          : verdict.reason;
      if (dest) warnings.push(movedMessage(file, dest, why, verdict.kind === 'newer' ? 'upgrade mcptrace to use it again' : undefined));
    }
  }
  if (!db) db = create(file, warnings, opts.busyTimeoutMs);
  tighten(file);
  return { db, warnings };
}

function movedMessage(file: string, dest: string, why: string, fix?: string): string {
  return (
    `the run history ${file} could not be used: ${why}. It was moved to ${dest}, with the runs it holds, and a new history was started` +
    (fix ? ` (${fix}).` : '.')
  );
}

function create(file: string, warnings: string[], busyTimeoutMs?: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    // Created private before SQLite opens it; SQLite gives its -wal and -shm the same mode.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    db = new (sqliteLib())(file, { timeout: BUSY_TIMEOUT_MS });
    configure(db, file, warnings, busyTimeoutMs);
    migrate(db);
    return db;
  } catch (e) {
    db?.close();
    throw cannotOpen(file, e);
  }
}
