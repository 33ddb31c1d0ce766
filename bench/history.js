#!/usr/bin/env node
// The run history's costs: how fast runs are recorded, how fast search answers at 10k and 100k
// stored runs, and what a run costs on disk. Run after `npm run build`: node bench/history.js
// (--smoke: 1k and 5k runs, to check the script itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HistoryStore } from '../dist/history/store.js';

const SMOKE = process.argv.includes('--smoke');
const SIZES = SMOKE ? [1_000, 5_000] : [10_000, 100_000];
const LINES_PER_RUN = 40;
const SEARCH_REPEATS = SMOKE ? 10 : 30;
/** Runs recorded one call per transaction at each size, for the rate. */
const RATE_SAMPLE = SMOKE ? 300 : 2000;
const log = (m) => process.stderr.write(`${m}\n`);

const dir = process.env.HISTORY_BENCH_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mcptrace-history-bench-'));
const file = path.join(dir, 'history.db');
if (!process.env.HISTORY_BENCH_DIR) process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// Words of real programs and output, so that the index has a realistic vocabulary and spread.
const PROBES = ['vfs_read', 'vfs_write', 'do_sys_openat2', 'tcp_sendmsg', 'tcp_recvmsg', 'blk_account_io_done', 'finish_task_switch', 'ext4_file_open'];
const COMMS = ['node', 'bash', 'systemd', 'sshd', 'postgres', 'nginx', 'chrome', 'kworker/0:1', 'containerd', 'python3'];
const ERRORS = ['ENOENT: no such file', 'Unknown identifier', 'could not attach probe', 'permission denied'];
// mulberry32: seeded, so that every run of the benchmark stores the same runs.
let seed = 42;
const rnd = (n) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
};
const pick = (a) => a[rnd(a.length)];

function makeRun(i) {
  const probe = pick(PROBES);
  const program = `kprobe:${probe} /pid != ${1000 + rnd(9000)}/ {\n  @bytes[comm] = sum(arg2);\n  @calls = count();\n}\ninterval:s:5 { exit(); }`;
  const id = `exec-${i.toString(36)}${rnd(1e6).toString(36)}`;
  const failed = rnd(10) === 0;
  const lines = Array.from({ length: LINES_PER_RUN }, (_, j) => `${pick(COMMS).padEnd(16)} ${String(1000 + rnd(90000)).padStart(8)} ${probe} ${j}`);
  const map = { type: 'map', name: '@bytes', value: Object.fromEntries(COMMS.map((c) => [c, rnd(1e6)])) };
  const record = {
    id,
    tool: 'exec_program',
    commandLine: `bpftrace -f json -e ${probe}`,
    summary: program.split('\n')[0],
    limits: { max_lines: 100000, max_bytes: 16777216 },
    status: 'running',
    phase: 'running',
    createdAt: Date.now(),
    startedAt: Date.now(),
    killed: false,
    lostEvents: 0,
    lines: [],
    droppedLines: 0,
    droppedBytes: 0,
    stderr: [],
    droppedStderr: 0,
    maps: [],
    mapPrints: [],
    commandOutput: [],
    droppedCommandOutput: 0,
  };
  const meta = {
    id,
    tool: 'exec_program',
    input: { program, duration: 5 },
    program,
    argv: ['bpftrace', '-f', 'json', '-e', program],
    kernel: '6.8.0',
    host: 'bench',
  };
  const final = {
    ...record,
    status: failed ? 'failed' : 'completed',
    phase: failed ? 'ended-error' : 'ended',
    endedAt: Date.now(),
    exitCode: failed ? 1 : 0,
    ...(failed ? { error: pick(ERRORS) } : {}),
    lines,
    maps: [map],
    mapPrints: [[30, { map, count: 10 }]],
  };
  return { meta, record, final, lines };
}

/** Records one run as the runner does: begin, lines in two batches with a state update between, finish. */
function recordRun(store, i) {
  const r = makeRun(i);
  store.begin(r.meta, r.record);
  store.appendLines(r.meta.id, 0, r.lines.slice(0, 20));
  store.update(r.meta.id, r.record);
  store.appendLines(r.meta.id, 20, r.lines.slice(20));
  store.finish(r.meta.id, r.final);
}

/** Runs/s, each call its own transaction (as in real use). */
function timedInsert(store, from, count) {
  const t0 = performance.now();
  for (let i = from; i < from + count; i++) recordRun(store, i);
  if (store.degraded) throw new Error(store.degraded);
  return count / ((performance.now() - t0) / 1000);
}

/**
 * Fills the history fast, a thousand runs per transaction: the store's own transactions become
 * savepoints inside ours (the connection is private in TypeScript, not in JavaScript). Only to
 * reach 100k stored runs in a benchmark's time; the rate reported is timedInsert's.
 */
function bulkInsert(store, from, count) {
  const t0 = performance.now();
  for (let i = from; i < from + count; i += 1000) {
    store.db.exec('BEGIN IMMEDIATE');
    for (let j = i; j < Math.min(from + count, i + 1000); j++) recordRun(store, j);
    store.db.exec('COMMIT');
  }
  if (store.degraded) throw new Error(store.degraded);
  return count / ((performance.now() - t0) / 1000);
}

const QUERIES = ['vfs_read', 'tcp_sendmsg postgres', 'could not attach', 'nginx 4', 'ext4'];

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function searchTimes(store) {
  return QUERIES.map((q) => {
    const times = [];
    let groups = 0;
    for (let i = 0; i < SEARCH_REPEATS; i++) {
      const t0 = performance.now();
      groups = store.search(q).length;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { q, p50: percentile(times, 50), p99: percentile(times, 99), groups };
  });
}

const rows = [];
let { store } = HistoryStore.open(file, { retention: { maxRuns: 1e9, maxBytes: 1e15, maxAgeDays: 1e6 } });
let stored = 0;
for (const size of SIZES) {
  log(`recording runs up to ${size}…`);
  const bulk = bulkInsert(store, stored, size - stored - RATE_SAMPLE);
  const rate = timedInsert(store, size - RATE_SAMPLE, RATE_SAMPLE);
  stored = size;
  store.close();
  // Reopening measures what every CLI command pays (the integrity check is for files up to 16 MiB), and reads the search cold.
  const t0 = performance.now();
  ({ store } = HistoryStore.open(file, { retention: { maxRuns: 1e9, maxBytes: 1e15, maxAgeDays: 1e6 } }));
  const openMs = performance.now() - t0;
  const stats = store.stats();
  log(`searching ${size} runs…`);
  rows.push({
    size,
    rate,
    bulk,
    openMs,
    stats,
    searches: searchTimes(store),
    listMs: timeIt(() => store.list({ limit: 100 })),
    loadMs: timeIt(() => store.load(store.list({ limit: 1 })[0].id)),
  });
}
log('pruning 10% of the runs…');
const t0 = performance.now();
const pruned = store.prune({ maxRuns: Math.floor(stored * 0.9) });
const pruneMs = performance.now() - t0;
store.close();

function timeIt(fn) {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) fn();
  return (performance.now() - t0) / 20;
}

const f = (n, d = 1) => n.toFixed(d);
console.log(`mcptrace history benchmark (${LINES_PER_RUN} lines + a 10-key map per run; ${os.cpus().length} CPUs, node ${process.version})\n`);
console.log('stored runs | record runs/s | bulk runs/s | open ms | file MiB | file bytes/run | counted bytes/run | list(100) ms | load ms');
for (const r of rows) {
  console.log(
    `${String(r.size).padStart(11)} | ${f(r.rate, 0).padStart(13)} | ${f(r.bulk, 0).padStart(11)} | ${f(r.openMs).padStart(7)} | ${f(r.stats.fileBytes / 2 ** 20).padStart(8)} | ${f(r.stats.fileBytes / r.stats.runs, 0).padStart(14)} | ${f(r.stats.bytes / r.stats.runs, 0).padStart(17)} | ${f(r.listMs, 2).padStart(12)} | ${f(r.loadMs, 2).padStart(7)}`,
  );
}
console.log('\nsearch (ms)            ' + rows.map((r) => `| ${String(r.size).padStart(6)} runs: p50   p99  groups`).join(' '));
for (const [i, q] of QUERIES.entries()) {
  console.log(
    `${JSON.stringify(q).padEnd(23)}` +
      rows
        .map(
          (r) => `| ${' '.repeat(12)}${f(r.searches[i].p50, 2).padStart(5)} ${f(r.searches[i].p99, 2).padStart(5)} ${String(r.searches[i].groups).padStart(7)}`,
        )
        .join(' '),
  );
}
console.log(
  `\nrecord: begin + 2 × appendLines + update + finish, each its own transaction, for the last ${RATE_SAMPLE} runs of each size; ` +
    'bulk: the rest, 1000 runs per transaction (to fill).',
);
console.log(`\nprune of ${pruned.deleted} runs (${f(pruned.bytesFreed / 2 ** 20)} MiB counted): ${f(pruneMs / 1000, 2)} s`);
