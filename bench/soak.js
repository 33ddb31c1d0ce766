#!/usr/bin/env node
// Soak test: one server for an hour of mixed calls (runs waited and polled, stops, cancels,
// probe listings, bad input), while short-lived clients come and go (each killed in a different
// way). It samples the long-lived server's RSS and open file descriptors, and at the end checks
// that no server or tracer was left behind. Not in CI: `npm run soak` (SOAK_SECONDS=3600).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/run.js');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 3600);
const MARK = `soak${process.pid}`;
const log = (m) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect() {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'serve'], stderr: 'ignore' });
  const client = new Client({ name: 'soak', version: '0' });
  await client.connect(transport);
  await client.listTools();
  return { client, transport, pid: transport.pid };
}

const call = (client, name, args, opts) => client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000, ...opts });

function sample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return { rssMb: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function leftovers() {
  try {
    return execFileSync('pgrep', ['-f', MARK], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One round of mixed calls on the long-lived server; every kind of call the server takes. */
async function round(client, i) {
  const prog = `interval:ms:20 { @${MARK}[cpu] = count(); } interval:ms:100 { printf("tick ${MARK}\\n"); }`;
  await call(client, 'exec_program', { program: `BEGIN { printf("hi ${MARK}\\n"); exit(); }`, wait: true });
  const started = await call(client, 'exec_program', { program: prog, timeout: 30 });
  const id = started.structuredContent.execution_id;
  await sleep(300);
  await call(client, 'get_result', { execution_id: id, wait: 1 });
  await call(client, 'stop_execution', { execution_id: id });
  // A waited run cancelled by the client mid-way.
  const ac = new AbortController();
  const cancelled = call(client, 'exec_program', { program: prog, timeout: 30, wait: true }, { signal: ac.signal }).catch(() => undefined);
  await sleep(400);
  ac.abort();
  await cancelled;
  await call(client, 'exec_program', { program: prog, timeout: 0.5, wait: true, include_maps: true });
  await call(client, 'list_probes', { filter: i % 2 ? 'tracepoint:sched:*' : 'tracepoint:syscalls:sys_enter_open*' });
  await call(client, 'bpf_info', {});
  await call(client, 'exec_program', { program: 'BEGIN { @x = ; }', wait: true });
  await call(client, 'exec_program', { program: 'x'.repeat(70_000) }).catch(() => undefined);
  await call(client, 'count_syscalls', { duration: 1 });
  await call(client, 'list_executions', {});
}

/** A short-lived client that dies in one of the ways clients die; its server must follow. */
async function churn(kind) {
  const c = await connect();
  await call(c.client, 'exec_program', { program: `interval:ms:50 { @${MARK} = count(); }`, timeout: 60 });
  await sleep(500);
  if (kind === 'close') await c.client.close();
  else if (kind === 'sigterm') process.kill(c.pid, 'SIGTERM');
  else {
    // Simulate a dead client: its end of every pipe closes at once.
    c.transport._process?.stdin?.destroy();
    c.transport._process?.stdout?.destroy();
  }
  for (let t = 0; t < 200 && alive(c.pid); t++) await sleep(100);
  return !alive(c.pid);
}

const main = async () => {
  const long = await connect();
  const samples = [];
  const t0 = Date.now();
  let rounds = 0;
  let churned = 0;
  let churnFailures = 0;
  let errors = 0;
  let nextSample = 0;
  let nextChurn = 60_000;
  const kinds = ['close', 'sigterm', 'pipes'];
  log(`soak for ${SECONDS} s; long-lived server pid ${long.pid}`);
  while (Date.now() - t0 < SECONDS * 1000) {
    try {
      await round(long.client, rounds++);
    } catch (e) {
      errors++;
      log(`round ${rounds} error: ${e.message}`);
    }
    const elapsed = Date.now() - t0;
    if (elapsed >= nextSample) {
      samples.push({ s: Math.round(elapsed / 1000), rounds, ...sample(long.pid) });
      log(`t=${Math.round(elapsed / 1000)}s rounds=${rounds} ${JSON.stringify(samples.at(-1))}`);
      nextSample += 60_000;
    }
    if (elapsed >= nextChurn) {
      const ok = await churn(kinds[churned % kinds.length]);
      churned++;
      if (!ok) churnFailures++;
      nextChurn += 60_000;
    }
  }
  samples.push({ s: Math.round((Date.now() - t0) / 1000), rounds, ...sample(long.pid) });
  await long.client.close();
  for (let t = 0; t < 100 && alive(long.pid); t++) await sleep(100);
  await sleep(1000);
  // After the first 5 minutes (warm-up: code loaded, caches filled), RSS and fds must stay flat.
  const steady = samples.filter((x) => x.s >= 300);
  const base = steady[0] ?? samples[0];
  const last = samples.at(-1);
  const summary = {
    seconds: SECONDS,
    rounds,
    calls: rounds * 13,
    errors,
    clients_churned: churned,
    churn_failures: churnFailures,
    rss_mb: { first: samples[0].rssMb, after_warmup: base.rssMb, last: last.rssMb, max: Math.max(...samples.map((x) => x.rssMb)) },
    fds: { first: samples[0].fds, after_warmup: base.fds, last: last.fds, max: Math.max(...samples.map((x) => x.fds)) },
    long_lived_server_exited: !alive(long.pid),
    leftover_processes: leftovers(),
    samples,
  };
  const dir = path.join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  const { samples: _s, ...short } = summary;
  process.stdout.write(`${JSON.stringify(short, null, 2)}\nwritten to ${path.relative(REPO, file)}\n`);
  const flat = last.rssMb <= base.rssMb * 1.2 + 5 && last.fds <= base.fds + 2;
  const clean = summary.leftover_processes.length === 0 && summary.long_lived_server_exited && churnFailures === 0;
  if (!flat || !clean || errors > 0) {
    process.stderr.write(`soak FAILED: flat=${flat} clean=${clean} errors=${errors}\n`);
    process.exit(1);
  }
};

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
