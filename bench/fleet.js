#!/usr/bin/env node
// What a fleet run costs, on real sshd hosts of this machine (scripts/fleet-hosts.sh), each
// running its own bpftrace: time to first event per host against a local run, the fan-out's
// overhead at 1, 5 and 20 hosts against running bpftrace directly (in the same run), and the
// server's memory per host. The hosts share this machine's 2 cores with the server, so the
// fan-out numbers include 20 bpftrace compiles competing for them: an upper bound for real hosts.
// Run after `npm run build`, as root: node --expose-gc bench/fleet.js [--smoke]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Core } from '../dist/core/core.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SMOKE = process.argv.includes('--smoke');
const REPEATS = SMOKE ? 2 : 5;
const SIZES = [1, 5, 20];
const DIR = `/tmp/mcptrace-fleet-bench-${process.pid}`;
const log = (m) => process.stderr.write(`${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'start', '20', DIR], { stdio: 'inherit' });
fs.appendFileSync(`${DIR}/inventory.ini`, `\n[one]\nhost1\n[five]\n${[1, 2, 3, 4, 5].map((i) => `host${i}`).join('\n')}\n`);
const core = new Core({ inventory: `${DIR}/inventory.ini`, runner: { graceMs: 10_000 }, history: undefined });
const groups = { 1: 'one', 5: 'five', 20: 'fleet' };
const results = { date: new Date().toISOString(), smoke: SMOKE, repeats: REPEATS, cores: (await import('node:os')).cpus().length };

try {
  // 1. Running bpftrace directly, n at once (the hosts share these cores): the floor every
  // fan-out ratio is against.
  const program = 'BEGIN { @n = count(); exit(); }';
  const directly = (n) =>
    Promise.all(Array.from({ length: n }, () => new Promise((res) => spawn('bpftrace', ['-e', program], { stdio: 'ignore' }).once('close', res))));
  for (const n of SIZES) {
    const walls = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      await directly(n);
      walls.push(performance.now() - t0);
    }
    results[`direct_${n}_ms`] = median(walls);
    log(`bpftrace directly, ${n} at once: ${ms(median(walls))}`);
  }

  // A cold start: the first call to 20 hosts opens each master connection and probes each host.
  {
    const t0 = performance.now();
    await core.callTool('exec_program', { program, hosts: ['fleet'], wait: true });
    results.cold_20_hosts_ms = performance.now() - t0;
    log(`first call to 20 hosts (connect, probe, run): ${ms(results.cold_20_hosts_ms)}`);
  }

  // 2. Local run through mcptrace, and the same over SSH (warm: probed, connected): time to the
  // first event of each host.
  const ttfeProgram = 'BEGIN { printf("first\\n"); } interval:ms:300 { exit(); }';
  const firstLine = (exec) =>
    new Promise((resolve) => {
      const t = () => exec.lines.length > 0;
      if (t()) return resolve(performance.now());
      const on = () => {
        if (t()) {
          exec.off('change', on);
          resolve(performance.now());
        }
      };
      exec.on('change', on);
    });
  const local = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    const r = await core.callTool('exec_program', { program: ttfeProgram });
    const exec = core.runner.get(r.structured.execution_id);
    local.push((await firstLine(exec)) - t0);
    await new Promise((res) => (exec.finished ? res() : exec.once('end', res)));
  }
  results.ttfe_local_ms = median(local);
  log(`time to first event, local: ${ms(results.ttfe_local_ms)}`);
  for (const n of SIZES) {
    const perHost = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      const r = await core.callTool('exec_program', { program: ttfeProgram, hosts: [groups[n]] });
      const fleet = core.runner.fleet(r.structured.execution_id);
      const times = await Promise.all(fleet.runs.map((e) => firstLine(e).then((t) => t - t0)));
      perHost.push(median(times));
      await new Promise((res) => (fleet.exec.finished ? res() : fleet.exec.once('end', res)));
    }
    results[`ttfe_${n}_hosts_ms`] = median(perHost);
    log(`time to first event, median host of ${n}: ${ms(median(perHost))} (${(median(perHost) / results.ttfe_local_ms).toFixed(2)}× local)`);
  }

  // 3. The whole call, start to merged answer, at 1, 5 and 20 hosts (warm: the hosts were probed
  // and their master connections are open; the cold first call is measured once, below).
  for (const n of SIZES) {
    const walls = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      const r = await core.callTool('exec_program', { program, hosts: [groups[n]], wait: true, include_maps: true });
      walls.push(performance.now() - t0);
      if (r.structured.maps?.['@n']?.value !== n) throw new Error(`fan-out to ${n}: merged @n is ${JSON.stringify(r.structured.maps?.['@n'])}`);
    }
    results[`wall_${n}_hosts_ms`] = median(walls);
    results[`overhead_${n}_hosts_ratio`] = Number((median(walls) / results[`direct_${n}_ms`]).toFixed(2));
    log(`whole run on ${n} host(s): ${ms(median(walls))}, ${results[`overhead_${n}_hosts_ratio`]}× bpftrace directly ${n} at once`);
  }

  // 4. Memory per host: the server's RSS and heap while 20 hosts stream events, over idle.
  global.gc?.();
  const before = process.memoryUsage();
  const r = await core.callTool('exec_program', {
    program: 'interval:ms:50 { printf("tick %d\\n", nsecs); @ticks = count(); }',
    hosts: ['fleet'],
    timeout: 60,
  });
  await new Promise((res) => setTimeout(res, 5000));
  global.gc?.();
  const during = process.memoryUsage();
  core.runner.stop(core.runner.get(r.structured.execution_id), 'stop');
  await new Promise((res) => core.runner.get(r.structured.execution_id).once('end', res));
  results.rss_per_host_kb = Math.round((during.rss - before.rss) / 20 / 1024);
  results.heap_per_host_kb = Math.round((during.heapUsed - before.heapUsed) / 20 / 1024);
  log(`server memory per streaming host (5 s at 20 events/s): RSS +${results.rss_per_host_kb} KiB, heap +${results.heap_per_host_kb} KiB`);
} finally {
  await core.shutdown();
  execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'stop', DIR], { stdio: 'inherit' });
}

fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
const out = path.join(REPO, 'bench/results', `fleet-${results.date.replace(/[:.]/g, '-')}.json`);
if (!SMOKE) fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
