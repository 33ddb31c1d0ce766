import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ftsQuery, HistoryError, HistoryStore, type StoredStatus } from '../../src/history/store.js';
import type { ExecutionRecord } from '../../src/runtime/execution.js';
import { meta, rawDb, record, richRecord, tempDir } from './fixtures.js';

let dir: string;
let file: string;
const open: HistoryStore[] = [];

function openStore(opts: Parameters<typeof HistoryStore.open>[1] = {}): HistoryStore {
  const { store, warnings } = HistoryStore.open(file, opts);
  expect(warnings).toEqual([]);
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'mcptrace', 'history.db');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Records a whole run: begin, its lines, finish. */
function run(
  store: HistoryStore,
  id: string,
  opts: { program?: string; lines?: string[]; final?: Partial<ExecutionRecord>; tool?: string; session?: string } = {},
): void {
  const m = meta(id, { program: opts.program, ...(opts.tool ? { tool: opts.tool } : {}), ...(opts.session ? { session: opts.session } : {}) });
  const createdAt = opts.final?.createdAt ?? Date.now();
  store.begin(m, record(id, { tool: m.tool, createdAt, attemptOf: opts.final?.attemptOf, attempt: opts.final?.attempt }));
  const lines = opts.lines ?? ['Attaching 1 probe...'];
  store.appendLines(id, 0, lines);
  store.finish(id, record(id, { tool: m.tool, status: 'completed', phase: 'ended', endedAt: createdAt + 1000, lines, ...opts.final }));
}

describe('recording and loading a run', () => {
  it('load() gives back a realistic record whole: maps with their key order, a histogram, rows and columns, map prints, compile errors', () => {
    const store = openStore();
    const full = richRecord('exec-rich');
    const m = meta('exec-rich', { policyVerdict: 'warn', session: 'disk' });
    store.begin(m, record('exec-rich', { createdAt: full.createdAt, attemptOf: 'exec-prev', attempt: 2 }));
    store.appendLines('exec-rich', 0, full.lines.slice(0, 3));
    store.update('exec-rich', { ...full, status: 'running', phase: 'attached', lines: [] });
    store.appendLines('exec-rich', 3, full.lines.slice(3));
    store.finish('exec-rich', full);

    expect(store.load('exec-rich')).toEqual({ meta: { ...m, pid: process.pid }, record: full });
    expect(store.load('exec-nope')).toBeUndefined();
  });

  it('a run is visible while it runs, with the lines appended so far and its latest state', () => {
    const store = openStore();
    store.begin(meta('exec-live'), record('exec-live'));
    store.appendLines('exec-live', 0, ['one', 'two']);
    store.update('exec-live', record('exec-live', { phase: 'attached', attachedProbes: 3, lines: ['ignored: lines come through appendLines'] }));
    const live = store.load('exec-live')!;
    expect(live.record).toMatchObject({ status: 'running', phase: 'attached', attachedProbes: 3, lines: ['one', 'two'] });
    expect(store.list()[0]).toMatchObject({ id: 'exec-live', status: 'running', lineCount: 2 });
  });

  it('an id is recorded once: begin() again throws HistoryError, from this process or another store on the file', () => {
    const store = openStore();
    store.begin(meta('exec-1'), record('exec-1'));
    expect(store.idExists('exec-1')).toBe(true);
    expect(store.idExists('exec-2')).toBe(false);
    expect(() => store.begin(meta('exec-1'), record('exec-1'))).toThrow(HistoryError);
    const other = openStore();
    expect(() => other.begin(meta('exec-1'), record('exec-1'))).toThrow(/already in the history.*idExists/);
    expect(other.idExists('exec-1')).toBe(true);
    expect(store.degraded).toBeUndefined();
    expect(other.degraded).toBeUndefined();
  });

  it('lines already stored are skipped, and a gap left by a dropped batch is filled at finish()', () => {
    const store = openStore();
    store.begin(meta('exec-g'), record('exec-g'));
    store.appendLines('exec-g', 0, ['a', 'b', 'c']);
    store.appendLines('exec-g', 1, ['b', 'c', 'd']);
    store.appendLines('exec-g', 0, ['a']);
    expect(store.load('exec-g')!.record.lines).toEqual(['a', 'b', 'c', 'd']);

    store.appendLines('exec-g', 6, ['g', 'h']);
    const holey = store.load('exec-g')!.record;
    expect(holey.lines).toEqual(['a', 'b', 'c', 'd', '', '', 'g', 'h']);
    expect(holey.runWarnings).toEqual([expect.stringMatching(/lines 5–6 were not recorded/)]);

    const all = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    store.finish('exec-g', record('exec-g', { status: 'completed', lines: all }));
    const done = store.load('exec-g')!.record;
    expect(done.lines).toEqual(all);
    expect(done.runWarnings).toBeUndefined();
    expect(store.list()[0].lineCount).toBe(9);
  });

  it('a run that printed 150,000 lines, all at finish(), loads whole; load(id, { lines: false }) leaves them out', () => {
    const store = openStore();
    const lines = Array.from({ length: 150_000 }, (_, i) => `l${i}`);
    store.begin(meta('exec-many'), record('exec-many'));
    store.finish('exec-many', record('exec-many', { status: 'completed', lines }));
    expect(store.load('exec-many')!.record.lines).toEqual(lines);
    expect(store.load('exec-many', { lines: false })!.record).toMatchObject({ status: 'completed', lines: [] });
    expect(store.list()[0].lineCount).toBe(150_000);
  });

  it('writing a run nobody began is a HistoryError', () => {
    const store = openStore();
    expect(() => store.appendLines('exec-ghost', 0, ['x'])).toThrow(/no run exec-ghost.*begin\(\)/);
    expect(() => store.update('exec-ghost', record('exec-ghost'))).toThrow(HistoryError);
  });

  it('keeps a per-run byte count that grows with its lines, and stats() adds them up', () => {
    const store = openStore();
    run(store, 'exec-small', { lines: ['x'] });
    run(store, 'exec-big', { lines: Array.from({ length: 500 }, (_, i) => `line ${i} ${'y'.repeat(100)}`) });
    const [big, small] = [store.list({ limit: 1 })[0], store.list()[1]];
    expect(big.bytes).toBeGreaterThan(50_000);
    expect(small.bytes).toBeLessThan(big.bytes / 10);
    const stats = store.stats();
    expect(stats.runs).toBe(2);
    expect(stats.bytes).toBe(big.bytes + small.bytes);
    expect(stats.fileBytes).toBeGreaterThan(0);
  });
});

describe('list()', () => {
  it('is newest first and filters by tool, status, time, session and limit', () => {
    const store = openStore();
    const t0 = 1_700_000_000_000;
    run(store, 'r1', { tool: 'exec_program', final: { createdAt: t0, status: 'completed' } });
    run(store, 'r2', { tool: 'opensnoop', final: { createdAt: t0 + 1000, status: 'failed', error: 'boom' }, session: 's1' });
    run(store, 'r3', { tool: 'exec_program', final: { createdAt: t0 + 2000, status: 'stopped' }, session: 's1' });
    store.begin(meta('r4'), record('r4', { createdAt: t0 + 3000 }));

    const ids = (f: Parameters<HistoryStore['list']>[0] = {}) => store.list(f).map((r) => r.id);
    expect(ids()).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(ids({ tool: 'exec_program' })).toEqual(['r4', 'r3', 'r1']);
    expect(ids({ status: 'failed' })).toEqual(['r2']);
    expect(ids({ status: ['completed', 'running'] })).toEqual(['r4', 'r1']);
    expect(ids({ since: t0 + 1000, until: t0 + 2000 })).toEqual(['r3', 'r2']);
    expect(ids({ session: 's1' })).toEqual(['r3', 'r2']);
    expect(ids({ limit: 2 })).toEqual(['r4', 'r3']);
    expect(store.list({ status: 'failed' })[0]).toMatchObject({
      id: 'r2',
      tool: 'opensnoop',
      error: 'boom',
      session: 's1',
      createdAt: t0 + 1000,
      endedAt: t0 + 2000,
    });
  });
});

describe('search()', () => {
  let store: HistoryStore;
  beforeEach(() => {
    store = openStore();
  });

  it('finds a run by a word of its program, of its error and of its output, and marks the words', () => {
    run(store, 'p', { program: 'tracepoint:block:block_rq_issue { @[comm] = count(); }' });
    run(store, 'e', { final: { status: 'failed', error: 'ERROR: Unknown identifier: zorbvariable' } });
    run(store, 'o', { lines: ['Attaching 1 probe...', 'postgres  4123  quuxfile.txt'] });

    const hit = (q: string) => store.search(q).flatMap((g) => g.runs);
    expect(hit('block_rq_issue')).toMatchObject([{ id: 'p', field: 'program', snippet: expect.stringContaining('«block_rq_issue»') }]);
    expect(hit('zorbvariable')).toMatchObject([{ id: 'e', field: 'error', status: 'failed', snippet: expect.stringContaining('«zorbvariable»') }]);
    expect(hit('quuxfile')).toMatchObject([{ id: 'o', field: 'output', snippet: expect.stringContaining('«quuxfile»') }]);
    // Words are ANDed, and the last one is a prefix.
    expect(hit('postgres quux').map((h) => h.id)).toEqual(['o']);
    expect(hit('postgres zorbvariable')).toEqual([]);
    expect(hit('block_rq_iss').map((h) => h.id)).toEqual(['p']);
  });

  it('ranks a run whose program has the word above one that only printed it', () => {
    run(store, 'in-output', { program: 'BEGIN { printf("hi\\n"); }', lines: ['vfs_fsync was called'] });
    run(store, 'in-program', { program: 'kprobe:vfs_fsync { @ = count(); }' });
    const runs = store.search('vfs_fsync').map((g) => g.runs[0]);
    expect(runs.map((r) => r.id)).toEqual(['in-program', 'in-output']);
    expect(runs[0].score).toBeGreaterThan(runs[1].score);
  });

  it('groups the attempts of one chain under its first run, best hit first', () => {
    const t = 1_700_000_000_000;
    run(store, 'A', { program: 'kprobe:biolatency_x { @ = hist(arg9); }', final: { status: 'failed', error: 'Unknown identifier arg9', createdAt: t } });
    run(store, 'B', { program: 'kprobe:biolatency_x { @ = hist(arg1); }', final: { attemptOf: 'A', attempt: 2, createdAt: t + 1 } });
    run(store, 'C', { program: 'kprobe:biolatency_x { @ = hist(arg1 * 2); } // biolatency_x', final: { attemptOf: 'B', attempt: 3, createdAt: t + 2 } });
    run(store, 'D', { program: 'kprobe:biolatency_x { @ = count(); }', final: { createdAt: t + 3 } });

    const groups = store.search('biolatency_x');
    expect(groups).toHaveLength(2);
    const chainA = groups.find((g) => g.chain === 'A')!;
    expect(chainA.runs.map((r) => r.id).sort()).toEqual(['A', 'B', 'C']);
    expect(chainA.runs.every((r) => r.chain === 'A')).toBe(true);
    const scores = chainA.runs.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(chainA.runs.find((r) => r.id === 'C')).toMatchObject({ attemptOf: 'B', attempt: 3 });
    // Groups are ordered by their best hit.
    expect(groups[0].runs[0].score).toBeGreaterThanOrEqual(groups[1].runs[0].score);
    expect(store.search('biolatency_x', { limit: 1 })).toHaveLength(1);
  });

  it('never throws on a query, whatever its FTS syntax characters', () => {
    run(store, 'x', { program: 'kprobe:foo { @ = count(); }', lines: ['x near foo and bar'] });
    for (const q of [
      '"foo AND (',
      'NEAR/',
      '*',
      '-x',
      'foo:',
      '^foo',
      'a OR',
      '"',
      "'",
      '(((',
      'foo"bar',
      'NOT',
      '{}',
      '\u0000',
      '',
      '   ',
      'foo -',
      'col:foo',
    ]) {
      expect(() => store.search(q), q).not.toThrow();
      expect(Array.isArray(store.search(q))).toBe(true);
    }
    expect(store.search('"foo AND (').flatMap((g) => g.runs.map((r) => r.id))).toEqual(['x']);
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (q) => {
        expect(Array.isArray(store.search(q))).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(store.degraded).toBeUndefined();
  });

  it('builds queries of quoted words, a prefix only for a last word of three characters or more', () => {
    expect(ftsQuery('vfs_read count')).toBe('"vfs_read" "count"*');
    expect(ftsQuery('say "hi" NEAR/3')).toBe('"say" """hi""" "NEAR/3"');
    expect(ftsQuery('nginx 4')).toBe('"nginx" "4"');
    expect(ftsQuery('* ( -')).toBeUndefined();
  });

  it('filters by tool, status, time and failure', () => {
    const t = 1_700_000_000_000;
    run(store, 'ok1', { tool: 'exec_program', program: 'kprobe:wibble {}', final: { createdAt: t } });
    run(store, 'bad', { tool: 'exec_program', program: 'kprobe:wibble {', final: { createdAt: t + 10, status: 'failed', error: 'syntax error' } });
    run(store, 'snoop', { tool: 'opensnoop', program: 'wibble', final: { createdAt: t + 20, status: 'stopped' } });
    const ids = (f: Parameters<HistoryStore['search']>[1]) =>
      store
        .search('wibble', f)
        .flatMap((g) => g.runs.map((r) => r.id))
        .sort();
    expect(ids({})).toEqual(['bad', 'ok1', 'snoop']);
    expect(ids({ tool: 'opensnoop' })).toEqual(['snoop']);
    expect(ids({ status: 'failed' })).toEqual(['bad']);
    expect(ids({ status: ['completed', 'stopped'] })).toEqual(['ok1', 'snoop']);
    expect(ids({ since: t + 5 })).toEqual(['bad', 'snoop']);
    expect(ids({ until: t + 10 })).toEqual(['bad', 'ok1']);
    expect(ids({ includeFailed: false })).toEqual(['ok1', 'snoop']);
  });

  it('indexes a run when it finishes, not while it runs', () => {
    store.begin(meta('live', { program: 'kprobe:flibbertigibbet {}' }), record('live'));
    store.appendLines('live', 0, ['flibbertigibbet']);
    expect(store.search('flibbertigibbet')).toEqual([]);
    store.finish('live', record('live', { status: 'completed', lines: ['flibbertigibbet'] }));
    expect(store.search('flibbertigibbet')[0].runs[0].id).toBe('live');
  });
});

describe('prune()', () => {
  const day = 86_400_000;
  // Recent enough that the default 30 days keeps them all.
  const t0 = Date.now() - 60_000;

  function ftsConsistent(): void {
    const db = rawDb(file);
    try {
      db.prepare(`INSERT INTO runs_fts (runs_fts) VALUES ('integrity-check')`).run();
      const indexed = db.prepare('SELECT count(*) FROM runs_fts').pluck().get();
      const finished = db.prepare(`SELECT count(*) FROM runs WHERE status NOT IN ('queued', 'running')`).pluck().get();
      expect(indexed).toBe(finished);
      expect(db.prepare('SELECT count(*) FROM run_lines WHERE run NOT IN (SELECT n FROM runs)').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  }

  it('by count: the oldest finished runs go, a running one stays, and search no longer finds them', () => {
    const store = openStore();
    store.begin(meta('running-old'), record('running-old', { createdAt: t0 - 1 }));
    for (let i = 0; i < 10; i++) run(store, `r${i}`, { program: `kprobe:word${i} {}`, final: { createdAt: t0 + i } });
    expect(store.search('word0')).toHaveLength(1);

    const { deleted, bytesFreed } = store.prune({ maxRuns: 4 });
    expect(deleted).toBe(7);
    expect(bytesFreed).toBeGreaterThan(0);
    expect(store.list().map((r) => r.id)).toEqual(['r9', 'r8', 'r7', 'running-old']);
    expect(store.search('word0')).toEqual([]);
    expect(store.search('word9')).toHaveLength(1);
    expect(store.load('r0')).toBeUndefined();
    ftsConsistent();
  });

  it('by age: finished runs older than maxAgeDays go; a running one, however old, stays', () => {
    const now = t0 + 40 * day;
    const store = openStore({ now: () => now });
    store.begin(meta('running-ancient'), record('running-ancient', { createdAt: t0 }));
    run(store, 'old', { final: { createdAt: t0 } });
    run(store, 'month', { final: { createdAt: now - 29 * day } });
    run(store, 'new', { final: { createdAt: now - 1000 } });
    expect(store.prune()).toMatchObject({ deleted: 1 });
    expect(store.list().map((r) => r.id)).toEqual(['new', 'month', 'running-ancient']);
    expect(store.prune({ maxAgeDays: 7 })).toMatchObject({ deleted: 1 });
    expect(store.list().map((r) => r.id)).toEqual(['new', 'running-ancient']);
    ftsConsistent();
  });

  it('by bytes: the oldest finished runs go until the counted size fits, and the file gives the pages back', () => {
    const store = openStore();
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'z'.repeat(200)}`);
    for (let i = 0; i < 6; i++) run(store, `b${i}`, { lines: big, final: { createdAt: t0 + i } });
    const before = store.stats();
    const perRun = before.bytes / 6;
    const { deleted, bytesFreed } = store.prune({ maxBytes: Math.floor(perRun * 2.5) });
    expect(deleted).toBe(4);
    expect(store.list().map((r) => r.id)).toEqual(['b5', 'b4']);
    const after = store.stats();
    expect(after.bytes).toBeLessThanOrEqual(perRun * 2.5);
    expect(before.bytes - after.bytes).toBe(bytesFreed);
    const db = rawDb(file);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    db.close();
    ftsConsistent();
  });

  it('uses the retention it was opened with, defaulting to 5000 runs, 30 days, 256 MiB', () => {
    const store = openStore({ retention: { maxRuns: 2 } });
    for (let i = 0; i < 5; i++) run(store, `d${i}`, { final: { createdAt: Date.now() + i } });
    expect(store.prune().deleted).toBe(3);
  });
});

describe('markInterrupted()', () => {
  const deadPid = (): number => spawnSync('true').pid!;

  function setOwner(id: string, set: string, ...params: unknown[]): void {
    const db = rawDb(file);
    db.prepare(`UPDATE runs SET ${set} WHERE id = ?`).run(...params, id);
    db.close();
  }

  it('turns a run whose process is gone into an interrupted run, ended at its last write, with its output and searchable', () => {
    const store = openStore();
    store.begin(meta('crashed', { program: 'kprobe:crashword {}' }), record('crashed', { createdAt: 1000 }));
    store.appendLines('crashed', 0, ['kept line']);
    store.begin(meta('mine'), record('mine'));
    store.begin(meta('queued'), record('queued', { status: 'queued', phase: 'queued' }));
    run(store, 'done');
    setOwner('crashed', 'owner_pid = ?, updated_at = 5000', deadPid());
    setOwner('queued', 'owner_pid = ?', deadPid());

    expect(store.markInterrupted().sort()).toEqual(['crashed', 'queued']);
    const r = store.load('crashed')!.record;
    expect(r).toMatchObject({ status: 'interrupted', phase: 'ended-error', endedAt: 5000, lines: ['kept line'] });
    expect(r.error).toMatch(/ended before the run finished: it crashed or was killed/);
    expect(
      store
        .list({ status: 'interrupted' })
        .map((s) => s.id)
        .sort(),
    ).toEqual(['crashed', 'queued']);
    expect(store.list({ status: 'running' }).map((s) => s.id)).toEqual(['mine']);
    expect(store.search('crashword')[0].runs[0]).toMatchObject({ id: 'crashed', status: 'interrupted' });
    expect(store.markInterrupted()).toEqual([]);
  });

  it('a reused pid (alive, but started at another time) is not the owner; another host is left alone', () => {
    const store = openStore();
    store.begin(meta('reused'), record('reused'));
    store.begin(meta('elsewhere'), record('elsewhere'));
    setOwner('reused', 'owner_start = owner_start + 1');
    setOwner('elsewhere', "owner_pid = ?, owner_host = 'another-host'", deadPid());
    expect(store.markInterrupted()).toEqual(['reused']);
  });

  it('after a reboot every owner is gone', () => {
    const store = openStore();
    store.begin(meta('before-reboot'), record('before-reboot'));
    setOwner('before-reboot', "owner_boot = 'another-boot'");
    expect(store.markInterrupted()).toEqual(['before-reboot']);
  });
});

describe('another process holding the write lock', () => {
  it('drops one batch after the retries, counts it, never degrades, and finish() fills in what was dropped', () => {
    const store = openStore({ busyTimeoutMs: 20 });
    store.begin(meta('busy'), record('busy'));
    store.appendLines('busy', 0, ['a', 'b']);
    const holder = rawDb(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      expect(() => store.appendLines('busy', 2, ['c', 'd'])).not.toThrow();
      expect(() => store.begin(meta('late'), record('late'))).not.toThrow();
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(store.droppedWrites).toBe(2);
    expect(store.lastDropped).toMatch(/write lock/);
    expect(store.degraded).toBeUndefined();

    store.appendLines('busy', 4, ['e']);
    expect(store.load('busy')!.record.lines).toEqual(['a', 'b', '', '', 'e']);
    store.finish('busy', record('busy', { status: 'completed', lines: ['a', 'b', 'c', 'd', 'e'] }));
    expect(store.load('busy')!.record.lines).toEqual(['a', 'b', 'c', 'd', 'e']);

    // The run whose begin() was dropped is inserted by its next write.
    store.update('late', record('late', { phase: 'attached' }));
    expect(store.load('late')!.record.phase).toBe('attached');
  });
});

describe('sessions', () => {
  it('saves, replaces, lists with their runs, and deletes; bad names and duplicates are HistoryErrors that say how to fix them', () => {
    const store = openStore({ now: () => 1234 });
    const calls = [{ tool: 'exec_program', input: { program: 'BEGIN { exit(); }' } }];
    expect(store.saveSession({ name: 'disk-io', description: 'why is the disk slow', calls })).toEqual({
      name: 'disk-io',
      description: 'why is the disk slow',
      createdAt: 1234,
      calls,
    });
    expect(() => store.saveSession({ name: 'disk-io', calls })).toThrow(/already exists: choose another name, or replace it/);
    store.saveSession({ name: 'disk-io', calls: [...calls, { tool: 'opensnoop', input: {} }], createdAt: 99 }, { replace: true });
    expect(store.getSession('disk-io')).toEqual({ name: 'disk-io', createdAt: 99, calls: [...calls, { tool: 'opensnoop', input: {} }] });

    for (const bad of ['', '-x', 'a b', 'x/y', 'a'.repeat(65), '../etc']) {
      expect(() => store.saveSession({ name: bad, calls }), bad).toThrow(/not a valid session name: use 1 to 64 letters/);
    }
    expect(() => store.saveSession({ name: 'ok', calls: [{ tool: '', input: {} }] })).toThrow(HistoryError);
    expect(() => store.saveSession({ name: 'ok', calls: [{ tool: 'x', input: 3 }] })).toThrow(/needs an input object/);

    run(store, 's1', { session: 'disk-io', final: { createdAt: 5000 } });
    run(store, 's2', { session: 'disk-io', final: { createdAt: 7000 } });
    store.saveSession({ name: 'empty', calls: [] });
    expect(store.listSessions()).toEqual([
      { name: 'empty', createdAt: 1234, calls: [], runs: 0 },
      { name: 'disk-io', createdAt: 99, calls: [...calls, { tool: 'opensnoop', input: {} }], runs: 2, lastRunAt: 7000 },
    ]);
    expect(store.deleteSession('disk-io')).toBe(true);
    expect(store.deleteSession('disk-io')).toBe(false);
    expect(store.getSession('disk-io')).toBeUndefined();
    expect(store.load('s1')).toBeDefined();
  });
});

describe('statuses', () => {
  it('stores every status, and interrupted', () => {
    const store = openStore();
    const statuses: StoredStatus[] = ['completed', 'failed', 'stopped', 'timed_out'];
    for (const s of statuses) run(store, `st-${s}`, { final: { status: s } as Partial<ExecutionRecord> });
    expect(
      store
        .list()
        .map((r) => r.status)
        .sort(),
    ).toEqual([...statuses].sort());
  });
});
