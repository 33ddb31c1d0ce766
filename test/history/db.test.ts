import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, damageMarker, migrate, openHistoryDb, SCHEMA_VERSION } from '../../src/history/db.js';
import { defaultHistoryPath, defaultStateDir } from '../../src/history/paths.js';
import { HistoryStore } from '../../src/history/store.js';
import { meta, rawDb, record, tempDir } from './fixtures.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'mcptrace', 'history.db');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const mode = (f: string) => fs.statSync(f).mode & 0o777;
/** The files of the history's directory, but the live ones. */
const asideFiles = () => fs.readdirSync(path.dirname(file)).filter((f) => !/^history\.db(-wal|-shm)?$/.test(f));

/** A history with one finished run in it, closed. */
function historyWithARun(id = 'exec-kept'): void {
  const { store } = HistoryStore.open(file);
  store.begin(meta(id), record(id));
  store.appendLines(
    id,
    0,
    Array.from({ length: 300 }, (_, i) => `line ${i} ${'q'.repeat(80)}`),
  );
  store.finish(id, record(id, { status: 'completed', lines: Array.from({ length: 300 }, (_, i) => `line ${i} ${'q'.repeat(80)}`) }));
  store.close();
}

/** Overwrites one page of a table's b-tree with garbage, as a bad disk or a stray write would. */
function damagePageOf(table: string): void {
  const db = rawDb(file);
  const page = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno LIMIT 1`).pluck().get(table) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(size, 0xa5), 0, size, (page - 1) * size);
  fs.closeSync(fd);
}

describe('where the history lives', () => {
  it('is $MCPTRACE_STATE_DIR, else $XDG_STATE_HOME/mcptrace, else ~/.local/state/mcptrace', () => {
    expect(defaultHistoryPath({ MCPTRACE_STATE_DIR: '/srv/trace', HOME: '/home/u' })).toBe('/srv/trace/history.db');
    expect(defaultHistoryPath({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe('/x/state/mcptrace/history.db');
    expect(defaultStateDir({ HOME: '/home/u' })).toBe('/home/u/.local/state/mcptrace');
  });
});

describe('permissions', () => {
  it('makes the directory 0700 and the database, its WAL and shared memory 0600', () => {
    const old = process.umask(0o022);
    try {
      const { store } = HistoryStore.open(file);
      store.begin(meta('exec-1'), record('exec-1'));
      expect(mode(path.dirname(file))).toBe(0o700);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe(0o600);
      store.close();
    } finally {
      process.umask(old);
    }
  });

  it('tightens an existing mcptrace directory, and leaves a directory the user chose alone', () => {
    fs.mkdirSync(path.dirname(file), { mode: 0o755 });
    fs.chmodSync(path.dirname(file), 0o755);
    openHistoryDb(file).db.close();
    expect(mode(path.dirname(file))).toBe(0o700);

    const chosen = path.join(dir, 'shared');
    fs.mkdirSync(chosen);
    fs.chmodSync(chosen, 0o755);
    openHistoryDb(path.join(chosen, 'history.db')).db.close();
    expect(mode(chosen)).toBe(0o755);
    expect(mode(path.join(chosen, 'history.db'))).toBe(0o600);
  });
});

describe('files that are not a history this version can use', () => {
  it('a file that is not a database is moved aside with its WAL, and a new history started, with a warning that says where', () => {
    fs.mkdirSync(path.dirname(file));
    const junk = Buffer.from('this is not sqlite '.repeat(300));
    fs.writeFileSync(file, junk);
    fs.writeFileSync(`${file}-wal`, 'wal junk');
    const { store, warnings } = HistoryStore.open(file);
    expect(warnings).toHaveLength(1);
    const [moved] = asideFiles().filter((f) => !f.endsWith('-wal'));
    expect(moved).toMatch(/^history\.db\.corrupt-\d{8}T\d{6}$/);
    expect(warnings[0]).toContain(`the run history ${file} could not be used: it is not a SQLite database (its first bytes are not "SQLite format 3")`);
    expect(warnings[0]).toContain(`moved to ${path.join(path.dirname(file), moved)}, with the runs it holds, and a new history was started`);
    expect(fs.readFileSync(path.join(path.dirname(file), moved))).toEqual(junk);
    expect(fs.readFileSync(path.join(path.dirname(file), `${moved}-wal`), 'utf8')).toBe('wal junk');
    store.begin(meta('exec-new'), record('exec-new'));
    expect(store.load('exec-new')).toBeDefined();
    store.close();
  });

  it('a damaged page (quick_check fails) is found at open and the file moved aside; the old runs stay in it', () => {
    historyWithARun();
    damagePageOf('run_lines');
    const { store, warnings } = HistoryStore.open(file);
    // quick_check lists the damage, or SQLite stops at it while reading (which one depends on the page).
    expect(warnings).toEqual([
      expect.stringMatching(
        /could not be used: it is damaged \((quick_check: Tree \d+ page \d+: [^\n]*|SQLITE_CORRUPT: database disk image is malformed)\)\. It was moved to .*history\.db\.corrupt-/,
      ),
    ]);
    expect(store.list()).toEqual([]);
    store.close();
    expect(asideFiles()).toEqual([expect.stringMatching(/^history\.db\.corrupt-/)]);
  });

  it('a big file is checked fully only after a process met damage in it, which leaves a marker', () => {
    historyWithARun();
    damagePageOf('run_lines');
    // Too big for the check at open (as a 100 MiB history would be): the damage is met on reading.
    const first = HistoryStore.open(file, { fullCheckMaxBytes: 0 });
    expect(first.warnings).toEqual([]);
    expect(first.store.load('exec-kept')).toBeUndefined();
    expect(first.store.degraded).toMatch(
      /history\.db is damaged \(SQLITE_CORRUPT.*\): mcptrace moves it aside and starts a new history the next time it opens it/,
    );
    expect(() => first.store.begin(meta('exec-x'), record('exec-x'))).not.toThrow();
    first.store.close();
    expect(fs.existsSync(damageMarker(file))).toBe(true);

    const second = HistoryStore.open(file, { fullCheckMaxBytes: 0 });
    expect(second.warnings).toEqual([expect.stringMatching(/it is damaged \((quick_check|SQLITE_CORRUPT)/)]);
    expect(fs.existsSync(damageMarker(file))).toBe(false);
    expect(second.store.degraded).toBeUndefined();
    second.store.close();
  });

  it('a SQLite database of another program is moved aside, never changed', () => {
    fs.mkdirSync(path.dirname(file));
    for (const appId of [0, 0x1234]) {
      const other = rawDb(file);
      other.pragma(`application_id = ${appId}`);
      other.exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('theirs')`);
      other.close();
      const { db, warnings } = openHistoryDb(file);
      expect(warnings).toEqual([expect.stringMatching(/could not be used: it is a SQLite database of another program.*moved to .*history\.db\.foreign-/)]);
      expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      db.close();
    }
    const moved = asideFiles().filter((f) => f.includes('.foreign-') && !/-(wal|shm)$/.test(f));
    expect(moved).toHaveLength(2);
    for (const m of moved) {
      const theirs = rawDb(path.join(path.dirname(file), m));
      expect(theirs.prepare('SELECT body FROM notes').pluck().get()).toBe('theirs');
      theirs.close();
    }
  });

  it('a history written by a newer mcptrace is moved aside untouched, and the warning says to upgrade', () => {
    fs.mkdirSync(path.dirname(file));
    const newer = rawDb(file);
    migrate(newer);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    newer.close();
    const { db, warnings } = openHistoryDb(file);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `written by a newer mcptrace \\(schema version ${SCHEMA_VERSION + 5}; this one knows up to ${SCHEMA_VERSION}\\).*moved to .*\\.newer-.*upgrade mcptrace`,
        ),
      ),
    ]);
    db.close();
    const [moved] = asideFiles().filter((f) => f.includes('.newer-') && !/-(wal|shm)$/.test(f));
    const kept = rawDb(path.join(path.dirname(file), moved));
    expect(kept.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    kept.close();
  });

  it('an empty file is taken as a new history, without a warning', () => {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '');
    const { db, warnings } = openHistoryDb(file);
    expect(warnings).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('throws, saying what, where and how to fix it, only when no history can be created at all', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    expect(() => HistoryStore.open(path.join(blocker, 'mcptrace', 'history.db'))).toThrow(
      new RegExp(`cannot create the run history directory ${blocker}/mcptrace \\(ENOTDIR.*MCPTRACE_STATE_DIR \\(or --state-dir\\).*--no-history`),
    );
  });
});

describe('migrations', () => {
  it('a history written by schema version 1 is brought up to date, its runs readable and searchable', () => {
    fs.mkdirSync(path.dirname(file));
    const v1 = rawDb(file);
    expect(migrate(v1, 1)).toBe(1);
    const rec = record('exec-old', { status: 'completed', phase: 'ended', createdAt: 1_000, endedAt: 2_000, error: undefined });
    const { lines: _lines, ...withoutLines } = rec;
    const n = v1
      .prepare(
        `INSERT INTO runs (id, tool, status, created_at, updated_at, ended_at, chain, owner_pid, owner_host, meta, record, line_count, lines_bytes, bytes)
         VALUES ('exec-old', 'exec_program', 'completed', 1000, 2000, 2000, 'exec-old', 1, 'h', ?, ?, 2, 30, 500)`,
      )
      .run(JSON.stringify(meta('exec-old', { program: 'kprobe:antiquated_probe {}' })), JSON.stringify(withoutLines)).lastInsertRowid;
    v1.prepare('INSERT INTO run_lines (run, first, count, text) VALUES (?, 0, 2, ?)').run(n, JSON.stringify(['old line one', 'oldoutputword']));
    v1.close();

    const { store, warnings } = HistoryStore.open(file);
    expect(warnings).toEqual([]);
    expect(store.load('exec-old')!.record).toEqual({ ...rec, lines: ['old line one', 'oldoutputword'] });
    expect(store.search('antiquated_probe')[0].runs[0]).toMatchObject({ id: 'exec-old', field: 'program' });
    expect(store.search('oldoutputword')[0].runs[0]).toMatchObject({ id: 'exec-old', field: 'output' });
    // Version 3's sessions work on the migrated file.
    store.saveSession({ name: 'after-migration', calls: [] });
    store.close();
    const db = rawDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('every step is a version, in order, and a fresh file gets them all', () => {
    const { db } = openHistoryDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    db.close();
  });
});
