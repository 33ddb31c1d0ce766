import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryStore } from '../../src/history/store.js';
import { distStore, rawDb, tempDir } from './fixtures.js';

// Several processes write one history at once (a server and CLI commands), and one may die
// mid-write. Plain node runs the writers, so they use the built store (npm test builds first).

let dir: string;
let file: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'mcptrace', 'history.db');
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The helpers every writer script starts with: the built store, and runs shaped as the runner's. */
function prelude(): string {
  return `
import { HistoryStore } from ${JSON.stringify(pathToFileURL(distStore()).href)};
import os from 'node:os';
export const record = (id, over = {}) => ({
  id, tool: 'exec_program', commandLine: 'bpftrace -e …', summary: 'kprobe:vfs_read', limits: { max_lines: 100000, max_bytes: 16777216 },
  status: 'running', phase: 'running', createdAt: Date.now(), startedAt: Date.now(), killed: false, lostEvents: 0,
  lines: [], droppedLines: 0, droppedBytes: 0, stderr: [], droppedStderr: 0,
  maps: [{ type: 'map', name: '@n', value: { a: 1, b: 2 } }], mapPrints: [], commandOutput: [], droppedCommandOutput: 0, ...over,
});
export const meta = (id) => ({ id, tool: 'exec_program', input: { program: 'kprobe:vfs_read { @n[comm] = count(); }' },
  program: 'kprobe:vfs_read { @n[comm] = count(); }', argv: ['bpftrace'], kernel: '6.8', host: os.hostname() });
export const linesOf = (id, from, n) => Array.from({ length: n }, (_, i) => \`\${id} line \${from + i} \${'x'.repeat(60)}\`);
/** One whole run, as the runner records it: begin, lines in batches with a state update after each, finish. */
export function writeRun(store, id, batches, perBatch) {
  store.begin(meta(id), record(id));
  for (let b = 0; b < batches; b++) {
    store.appendLines(id, b * perBatch, linesOf(id, b * perBatch, perBatch));
    store.update(id, record(id, { phase: 'attached', attachedProbes: b }));
  }
  store.finish(id, record(id, { status: 'completed', phase: 'ended', endedAt: Date.now(), lines: linesOf(id, 0, batches * perBatch) }));
}
export { HistoryStore };
`;
}

function script(name: string, body: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(path.join(dir, 'prelude.mjs'), prelude());
  fs.writeFileSync(f, `import { HistoryStore, record, meta, linesOf, writeRun } from './prelude.mjs';\n${body}`);
  return f;
}

function start(f: string, args: string[]): { child: ChildProcess; messages: any[]; exited: Promise<number | null> } {
  const child = fork(f, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const messages: any[] = [];
  child.on('message', (m) => messages.push(m));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, messages, exited };
}

const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

function integrityOk(): void {
  const db = rawDb(file);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.prepare(`INSERT INTO runs_fts (runs_fts) VALUES ('integrity-check')`).run();
  } finally {
    db.close();
  }
}

describe('several processes writing one history', () => {
  it('three writers at once: nothing throws, nothing degrades or is dropped, every run is whole, and readers read throughout', async () => {
    const RUNS = 150;
    const BATCHES = 5;
    const PER_BATCH = 20;
    const writer = script(
      'writer.mjs',
      `
const [file, who, runs, batches, perBatch] = process.argv.slice(2);
const { store } = HistoryStore.open(file);
process.send({ ready: true });
process.on('message', () => {
  try {
    for (let i = 0; i < Number(runs); i++) writeRun(store, \`\${who}-\${i}\`, Number(batches), Number(perBatch));
    process.send({ done: true, degraded: store.degraded, dropped: store.droppedWrites, lastDropped: store.lastDropped });
  } catch (e) {
    process.send({ threw: String(e && e.stack || e) });
  }
  store.close();
  process.disconnect();
});
`,
    );
    // No file yet: the writers race to create and migrate it, too.
    const writers = ['w1', 'w2', 'w3'].map((w) => start(writer, [file, w, String(RUNS), String(BATCHES), String(PER_BATCH)]));
    await until(() => writers.every((w) => w.messages.some((m) => m.ready)), 20_000, 'the writers to open the history');
    for (const w of writers) w.child.send('go');

    // A reader (this process) lists and searches while they write.
    const { store } = HistoryStore.open(file);
    let reads = 0;
    while (!writers.every((w) => w.messages.some((m) => m.done || m.threw))) {
      store.list({ limit: 20 });
      store.search('vfs_read');
      reads++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const codes = await Promise.all(writers.map((w) => w.exited));
    for (const w of writers) expect(w.messages.at(-1)).toEqual({ done: true, dropped: 0 });
    expect(codes).toEqual([0, 0, 0]);
    expect(reads).toBeGreaterThan(3);
    expect(store.degraded).toBeUndefined();

    expect(store.stats().runs).toBe(3 * RUNS);
    for (const w of ['w1', 'w2', 'w3']) {
      for (let i = 0; i < RUNS; i++) {
        const id = `${w}-${i}`;
        const r = store.load(id)!;
        expect(r.record.status, id).toBe('completed');
        expect(r.record.lines, id).toHaveLength(BATCHES * PER_BATCH);
        expect(r.record.lines[BATCHES * PER_BATCH - 1], id).toBe(`${id} line ${BATCHES * PER_BATCH - 1} ${'x'.repeat(60)}`);
        expect(r.record.runWarnings, id).toBeUndefined();
      }
    }
    expect(store.search('w2 line 99', { limit: 500 }).flatMap((g) => g.runs)).toHaveLength(RUNS);
    store.close();
    integrityOk();
  }, 120_000);

  it('a process killed mid-write leaves a sound file: its finished runs are there, its running run is marked interrupted with its lines', async () => {
    const victim = script(
      'victim.mjs',
      `
const [file] = process.argv.slice(2);
const { store } = HistoryStore.open(file);
for (let i = 0; i < 5; i++) writeRun(store, \`before-\${i}\`, 2, 10);
store.begin(meta('victim'), record('victim'));
process.send({ finished: [0, 1, 2, 3, 4].map((i) => \`before-\${i}\`) });
let lines = 0;
let load = 0;
// A batch of the victim's lines every 100 ms, as the recorder writes them...
setInterval(() => {
  store.appendLines('victim', lines, linesOf('victim', lines, 10));
  lines += 10;
  store.update('victim', record('victim', { phase: 'attached' }));
  process.send({ lines });
}, 100);
// ...while other runs are written as fast as they go, so that the kill lands mid-transaction.
(function busy() {
  const id = \`load-\${load++}\`;
  writeRun(store, id, 3, 20);
  process.send({ finished: [id] });
  setImmediate(busy);
})();
`,
    );
    const v = start(victim, [file]);
    const acked = () => Math.max(0, ...v.messages.filter((m) => m.lines).map((m) => m.lines as number));
    await until(() => acked() >= 100, 30_000, 'the victim to write 100 lines');
    v.child.kill('SIGKILL');
    await v.exited;
    const linesAcked = acked();
    const finished = v.messages.flatMap((m) => m.finished ?? []) as string[];
    expect(finished.length).toBeGreaterThan(5);

    integrityOk();
    const { store, warnings } = HistoryStore.open(file);
    expect(warnings).toEqual([]);
    for (const id of finished) expect(store.load(id)?.record.status, id).toBe('completed');
    // The victim, and the load run it was in the middle of (if the kill fell between two of them, none).
    const interrupted = store.markInterrupted();
    expect(interrupted).toContain('victim');
    expect(interrupted.length).toBeLessThanOrEqual(2);
    for (const id of interrupted.filter((i) => i !== 'victim')) {
      expect(id).toMatch(/^load-\d+$/);
      expect(finished).not.toContain(id);
    }
    const r = store.load('victim')!.record;
    expect(r.status).toBe('interrupted');
    expect(r.error).toMatch(new RegExp(`pid ${v.child.pid}\\) ended before the run finished`));
    // Every batch it said it wrote is there, and at most the one it was writing when killed besides.
    expect(r.lines.length).toBeGreaterThanOrEqual(linesAcked);
    expect(r.lines.length).toBeLessThanOrEqual(linesAcked + 10);
    expect(r.lines).toEqual(Array.from({ length: r.lines.length }, (_, i) => `victim line ${i} ${'x'.repeat(60)}`));
    // Runs it was writing when it died become interrupted too; none other stays "running".
    expect(store.list({ status: ['queued', 'running'] })).toEqual([]);
    store.close();
    integrityOk();
  }, 60_000);
});
