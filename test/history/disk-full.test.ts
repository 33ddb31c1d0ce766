import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryError, HistoryStore } from '../../src/history/store.js';
import { meta, rawDb, record, tempDir } from './fixtures.js';

// A real full disk: a 512 KiB tmpfs. Mounting needs root; in CI this test must run, so a
// machine where it cannot fails it loudly rather than passing it by skipping.

const dir = tempDir('mcptrace-history-full-');
const mountError = ((): string | undefined => {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`;
  }
})();
const mounted = mountError === undefined;
if (!mounted && process.env.CI !== 'true') console.warn(`disk-full test skipped: ${mountError} (it needs root to mount a tmpfs)`);

afterAll(() => {
  if (mounted) execFileSync('umount', [dir]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a full disk', () => {
  if (!mounted && process.env.CI === 'true') {
    it('runs in CI', () => {
      throw new Error(`the disk-full test cannot run here: ${mountError}. CI runs the tests as root so that it can mount a tmpfs.`);
    });
  }

  it.runIf(mounted)('stops the history with a clear reason, never a throw, and the runs recorded before stay readable', () => {
    const file = path.join(dir, 'mcptrace', 'history.db');
    const { store } = HistoryStore.open(file);
    const lines = (i: number) => Array.from({ length: 40 }, (_, j) => `run ${i} line ${j} ${'x'.repeat(100)}`);
    const finished: string[] = [];
    let i = 0;
    for (; i < 1000 && !store.degraded; i++) {
      const id = `exec-${i}`;
      store.begin(meta(id), record(id));
      store.appendLines(id, 0, lines(i).slice(0, 20));
      store.update(id, record(id, { phase: 'attached' }));
      store.appendLines(id, 20, lines(i).slice(20));
      store.finish(id, record(id, { status: 'completed', lines: lines(i) }));
      if (!store.degraded) finished.push(id);
    }
    expect(i).toBeLessThan(1000);
    expect(finished.length).toBeGreaterThan(0);
    expect(store.degraded).toBe(
      `the run history stopped recording: the disk is full at ${file} (SQLITE_FULL): free space on that disk, ` +
        'or move the history with MCPTRACE_STATE_DIR or --state-dir, or turn it off with --no-history. Runs go on, unrecorded.',
    );

    // Later writes are no-ops, never throws; a save the user asked for says why it did not happen.
    expect(() => {
      store.begin(meta('exec-after'), record('exec-after'));
      store.appendLines('exec-after', 0, ['x']);
      store.update('exec-after', record('exec-after'));
      store.finish('exec-after', record('exec-after', { status: 'completed' }));
      store.markInterrupted();
      store.prune({ maxRuns: 1 });
    }).not.toThrow();
    expect(() => store.saveSession({ name: 'full', calls: [] })).toThrow(HistoryError);
    expect(() => store.saveSession({ name: 'full', calls: [] })).toThrow(/was not saved: the run history stopped recording: the disk is full/);

    // This store and a second one (another process's view) still read what was recorded.
    for (const id of finished) expect(store.load(id)?.record.lines).toEqual(lines(Number(id.slice(5))));
    const second = HistoryStore.open(file);
    expect(second.warnings).toEqual([]);
    expect(
      second.store
        .list()
        .filter((r) => r.status === 'completed')
        .map((r) => r.id),
    ).toEqual(expect.arrayContaining(finished));
    for (const id of finished) expect(second.store.load(id)?.record.status).toBe('completed');
    second.store.close();
    store.close();

    const db = rawDb(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
