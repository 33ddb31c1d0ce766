import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionRecord } from '../../src/runtime/execution.js';
import type { RunMeta } from '../../src/history/store.js';

export const REPO = path.resolve(__dirname, '../..');

/** A fresh directory for one test's history; removed by the caller's cleanup. */
export function tempDir(prefix = 'mcptrace-history-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A queued-then-running run's record, as Execution.toRecord({ lines: false }) gives it. */
export function record(id: string, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id,
    tool: 'exec_program',
    commandLine: 'bpftrace -f json -e …',
    summary: 'kprobe:vfs_read { @[comm] = count(); }',
    limits: { max_lines: 100_000, max_bytes: 16 * 1024 * 1024 },
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
    ...over,
  };
}

export function meta(id: string, over: Partial<RunMeta> = {}): RunMeta {
  const program = over.program ?? 'kprobe:vfs_read { @[comm] = count(); }';
  return {
    id,
    tool: 'exec_program',
    input: { program, duration: 5 },
    program,
    argv: ['bpftrace', '-f', 'json', '-e', program],
    bpftraceVersion: 'v0.21.2',
    kernel: '6.8.0-test',
    host: os.hostname(),
    ...over,
  };
}

/** A finished record with everything a real one can carry: typed maps, a histogram, a table, compile errors. */
export function richRecord(id: string): ExecutionRecord {
  const map = { type: 'map' as const, name: '@bytes', value: { '10': 5, node: 1024, bash: 7 }, keys: ['node', 'bash', '10'] };
  const hist = {
    type: 'hist' as const,
    name: '@lat',
    value: [
      { min: 0, max: 1, count: 3 },
      { min: 2, max: 3, count: 9 },
    ],
  };
  return record(id, {
    status: 'failed',
    phase: 'ended-error',
    variant: 'bpftrace',
    stopReason: 'duration',
    graceMs: 2000,
    attachedAt: Date.now(),
    endedAt: Date.now() + 5000,
    exitCode: 1,
    signal: null,
    error: 'ERROR: Unknown identifier: arg9',
    hint: 'kprobes have arg0 to arg5',
    errors: [{ category: 'semantic', message: 'Unknown identifier: arg9', line: 1, column: 30, snippet: '@[comm] = sum(arg9);', suggestion: 'use arg2' }],
    pid: 4242,
    attachedProbes: 2,
    attemptOf: 'exec-prev',
    attempt: 2,
    preRunWarnings: ['policy: this probe fires often'],
    runWarnings: ['a line could not be decoded'],
    lostEvents: 3,
    lines: ['Attaching 2 probes...', '@bytes[node]: 1024', '@bytes[bash]: 7', '@bytes[10]: 5', 'COMM PID LAT', 'node 12 1.5', 'ünïcödé ✓ line'],
    droppedLines: 4,
    droppedBytes: 120,
    stderr: [
      { text: 'ERROR: Unknown identifier: arg9', level: 'error' },
      { text: 'WARNING: something', level: 'warning' },
    ],
    droppedStderr: 1,
    maps: [map, hist],
    mapPrints: [[1, { map, count: 3 }]],
    commandOutput: ['hello from the command'],
    droppedCommandOutput: 2,
    columns: [
      { name: 'COMM', type: 'string' },
      { name: 'PID', type: 'int' },
      { name: 'LAT', type: 'float' },
    ],
    rows: [{ line: 5, row: { COMM: 'node', PID: 12, LAT: 1.5 } }],
    histograms: [{ name: 'usecs', unit: 'usecs', buckets: [{ low: 0, high: 1, count: 4 }] }],
    overflowLines: 11,
    refusedProviders: [{ variant: 'bcc', command: 'opensnoop', exitCode: 1, error: 'could not load', hint: 'try bpftrace', stderr: ['modprobe failed'] }],
  });
}

/**
 * The compiled store, for tests that run writers in child processes (plain node cannot load
 * TypeScript). `npm test` builds first (pretest); a stale build would test old code, so it fails.
 */
export function distStore(): string {
  const built = path.join(REPO, 'dist/history/store.js');
  const sources = ['store.ts', 'db.ts', 'sessions.ts'].map((f) => path.join(REPO, 'src/history', f));
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: run npm run build (npm test does) first`);
  const builtAt = fs.statSync(built).mtimeMs;
  const newer = sources.filter((s) => fs.statSync(s).mtimeMs > builtAt);
  if (newer.length) throw new Error(`dist/history is older than ${newer.join(', ')}: run npm run build (npm test does) first`);
  return built;
}

/** Runs SQL on a history file with a connection of its own (not the store's). */
export function rawDb(file: string): Database.Database {
  return new Database(file);
}
