#!/usr/bin/env node
// npm run test:stock-kernel: boots a stock Debian kernel (which has kprobes, unlike this
// machine's) under qemu with the host's root file system read-only over 9p, runs the
// kernel-dependent tests inside it against this checkout, and reports the guest's results
// with the guest's exit code as its own. Writes docs/stock-kernels.json and the README's
// kernel matrix from what ran. See docs/stock-kernels.md.
//
//   npm run test:stock-kernel                               # Debian 12's 6.1, kprobe suite
//   npm run test:stock-kernel -- --kernel debian-6.12       # Debian 13's 6.12
//   npm run test:stock-kernel -- --suite full               # plus the whole MCP integration suite
//   npm run test:stock-kernel -- --bpftrace sid             # the guest runs bpftrace 0.27
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { renderMatrix, FEATURES, featureOf } from './matrix.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROOTS_DIR = process.env.MCPTRACE_ROOTS_DIR || '/srv/mcptrace-roots';
// The guest's CPUs are emulated (TCG): the integration suite took 1,341 s there on 6.12 against
// minutes here. Test time budgets (timeouts, waits, grace periods) scale by this factor in the
// guest (test/helpers/kernel.ts SLOWDOWN); what the tests assert does not.
const SLOWDOWN = 8;
// The stop stress test runs 8 rounds in the guest (2 of each stop path) rather than 24: at
// emulated speed 24 take most of an hour.
const GUEST_STRESS_ROUNDS = 8;
const SUITES = {
  kprobes: ['test/stock-kernel'],
  full: ['test/stock-kernel', 'test/integration'],
  integration: ['test/integration'],
};

const usage = `usage: npm run test:stock-kernel -- [--kernel debian-6.1|debian-6.12]... [--suite kprobes|integration|full]
       [--bpftrace host|trixie|sid] [--timeout MINUTES] [--filter TEST-NAME-PATTERN] [--no-record]`;
let opts;
try {
  opts = parseArgs({
    options: {
      kernel: { type: 'string', multiple: true, default: ['debian-6.1'] },
      suite: { type: 'string', default: 'kprobes' },
      bpftrace: { type: 'string', default: 'host' },
      timeout: { type: 'string', default: '40' },
      filter: { type: 'string' },
      'no-record': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (opts.help) {
  console.log(usage);
  process.exit(0);
}
const fail = (msg) => {
  console.error(`test:stock-kernel: ${msg}`);
  process.exit(2);
};
if (!SUITES[opts.suite]) fail(`unknown suite "${opts.suite}": use kprobes, integration or full`);
if (!/^(host|trixie|sid)$/.test(opts.bpftrace)) fail(`unknown bpftrace "${opts.bpftrace}": use host, trixie or sid`);
const timeoutMin = Number(opts.timeout);
if (!(timeoutMin > 0)) fail(`--timeout must be a number of minutes, got "${opts.timeout}"`);
if (process.getuid?.() !== 0) fail('must run as root (apt-get, and bpftrace inside the guest runs as the host root)');
// qemu's -virtfs option is comma-separated: a path with a comma would change its meaning.
if (ROOT.includes(',')) fail(`the checkout path ${ROOT} contains a comma, which qemu's -virtfs cannot take; clone it elsewhere`);
if (!existsSync(path.join(ROOT, 'node_modules/vitest'))) fail('node_modules is missing: run npm ci first');

let worst = 0;
const records = [];
for (const kernel of opts.kernel.flatMap((k) => k.split(','))) {
  const r = await runKernel(kernel);
  records.push(r);
  worst = Math.max(worst, r.exit_code);
}
if (!opts['no-record']) {
  const file = path.join(ROOT, 'docs/stock-kernels.json');
  const old = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { runs: {} };
  for (const r of records) if (r.results) old.runs[`${r.kernel}/${r.bpftrace_lane}/${r.suite}`] = r;
  writeFileSync(file, `${JSON.stringify(old, null, 2)}\n`);
  const readme = path.join(ROOT, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const updated = text.replace(/(<!-- kernel-matrix:start[^>]*-->\n)[\s\S]*?(<!-- kernel-matrix:end -->)/, (_m, a, b) => `${a}${renderMatrix(old.runs)}${b}`);
  if (updated !== text) writeFileSync(readme, updated);
  console.log(`test:stock-kernel: recorded in docs/stock-kernels.json and the README's kernel matrix`);
}
process.exit(worst);

async function runKernel(kernel) {
  const started = Date.now();
  const setup = await execa('bash', [path.join(ROOT, 'scripts/stock-kernel/setup.sh'), kernel], { stderr: 'inherit', reject: false });
  if (setup.exitCode !== 0) fail(`setting up ${kernel} failed (exit ${setup.exitCode})`);
  const dir = setup.stdout.trim().split('\n').pop();
  const release = readFileSync(path.join(dir, 'kernel-release'), 'utf8').trim();
  const share = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-guest-'));
  const bpftrace = opts.bpftrace === 'host' ? '' : path.join(ROOTS_DIR, `bin/bpftrace-${opts.bpftrace}`);
  if (bpftrace && !existsSync(bpftrace)) fail(`${bpftrace} is missing: bash scripts/setup-bpftrace-roots.sh ${opts.bpftrace}`);
  const files = SUITES[opts.suite];
  // The guest's run: this checkout, read-only; vitest's cache and every temporary file go to the
  // guest's own /tmp; the JSON report comes back through the share.
  writeFileSync(
    path.join(share, 'run.sh'),
    [
      `cd '${ROOT}' || exit 125`,
      `export CI=true NO_COLOR=1 MCPTRACE_STOCK_KERNEL='${kernel}' MCPTRACE_TEST_SLOWDOWN=${SLOWDOWN} MCPTRACE_STRESS_ROUNDS=${GUEST_STRESS_ROUNDS} ${bpftrace ? `MCPTRACE_BPFTRACE='${bpftrace}'` : ''}`,
      `echo "mcptrace-guest: bpftrace $(${bpftrace || 'bpftrace'} --version 2>&1)" | tee /tmp/mcptrace-share/bpftrace-version`,
      `exec node node_modules/vitest/vitest.mjs run ${files.join(' ')} --testTimeout=${60_000 * SLOWDOWN} --hookTimeout=${60_000 * SLOWDOWN} --reporter=default --reporter=json --outputFile.json=/tmp/mcptrace-share/results.json${opts.filter ? ` -t '${opts.filter.replace(/'/g, '')}'` : ''}`,
      '',
    ].join('\n'),
  );
  const virtfs = (p, tag, ro) => ['-virtfs', `local,path=${p},mount_tag=${tag},security_model=none,multidevs=remap${ro ? ',readonly=on' : ''}`];
  const argv = [
    // Two vCPUs emulated by one host thread: with multi-threaded TCG the guest oopsed (a NULL
    // call in vfs_fstatat) while kprobes were being patched into vfs_* functions that the other
    // vCPU was running; one thread serializes the code patching, as real hardware orders it.
    ...['-accel', 'tcg,thread=single', '-smp', '2', '-m', '4G'],
    ...['-nographic', '-no-reboot', '-kernel', path.join(dir, 'vmlinuz'), '-initrd', path.join(dir, 'initramfs.cpio.gz')],
    ...['-append', `console=ttyS0 quiet loglevel=3 panic=-1 mcptrace.checkout=${ROOT}`],
    ...virtfs('/', 'hostroot', true),
    ...virtfs(share, 'share', false),
    ...virtfs(ROOT, 'checkout', true),
  ];
  console.log(`test:stock-kernel: booting ${kernel} (${release}) under qemu (TCG), suite ${opts.suite}, bpftrace ${opts.bpftrace}`);
  const qemu = execa('qemu-system-x86_64', argv, { reject: false, stdin: 'ignore', buffer: false, forceKillAfterDelay: 10_000 });
  const timer = setTimeout(() => qemu.kill('SIGTERM'), timeoutMin * 60_000);
  const notes = [];
  let guestExit;
  let seenGuest = false;
  let partial = '';
  qemu.stdout.on('data', (chunk) => {
    const lines = (partial + chunk.toString()).split(/\r?\n/);
    partial = lines.pop();
    for (const line of lines) {
      // The firmware's screen-clearing noise comes before the guest's first line.
      if (!seenGuest && !line.includes('mcptrace-guest:')) continue;
      seenGuest = true;
      const m = /MCPTRACE-GUEST-EXIT=(\d+)/.exec(line);
      if (m) guestExit = Number(m[1]);
      const note = /^stock-kernel: [\w.-]+: (.*)$/.exec(line);
      if (note) notes.push(note[1]);
      process.stdout.write(`${line}\n`);
    }
  });
  qemu.stderr.on('data', (d) => process.stderr.write(d));
  const done = await qemu;
  clearTimeout(timer);
  const seconds = Math.round((Date.now() - started) / 1000);
  let results;
  try {
    results = summarize(JSON.parse(readFileSync(path.join(share, 'results.json'), 'utf8')));
  } catch {
    results = undefined;
  }
  const versionText = existsSync(path.join(share, 'bpftrace-version')) ? readFileSync(path.join(share, 'bpftrace-version'), 'utf8') : '';
  // The guest's own report stays beside the kernel for a closer look.
  if (existsSync(path.join(share, 'results.json'))) copyFileSync(path.join(share, 'results.json'), path.join(dir, `last-results-${opts.bpftrace}.json`));
  rmSync(share, { recursive: true, force: true });
  let exit = guestExit ?? 1;
  if (guestExit === undefined) {
    console.error(
      done.isTerminated
        ? `test:stock-kernel: ${kernel} did not finish within ${timeoutMin} minutes (--timeout)`
        : `test:stock-kernel: the guest ended without reporting an exit code (qemu exit ${done.exitCode})`,
    );
    exit = done.isTerminated ? 124 : 1;
  }
  if (results) {
    console.log(`test:stock-kernel: ${kernel}: ${results.passed}/${results.total} tests passed in ${seconds} s`);
    for (const f of FEATURES) {
      const s = results.features[f.id];
      if (s) console.log(`  ${f.title}: ${s.passed}/${s.total}`);
    }
  }
  return {
    kernel,
    release,
    bpftrace_lane: opts.bpftrace,
    bpftrace: versionText.replace(/^mcptrace-guest: bpftrace /, '').trim(),
    suite: opts.suite,
    date: new Date().toISOString().slice(0, 10),
    seconds,
    exit_code: exit,
    results,
    notes,
  };
}

/** Passed and total per feature, from vitest's JSON report. */
function summarize(report) {
  const features = {};
  let passed = 0;
  let total = 0;
  for (const file of report.testResults ?? []) {
    const rel = path.relative(ROOT, file.name);
    for (const t of file.assertionResults ?? []) {
      const id = featureOf(rel, t.fullName ?? t.title);
      features[id] ??= { passed: 0, total: 0, failed: [] };
      features[id].total++;
      total++;
      if (t.status === 'passed') {
        features[id].passed++;
        passed++;
      } else features[id].failed.push(t.title);
    }
  }
  return { passed, total, features };
}
