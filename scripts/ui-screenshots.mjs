// npm run ui:screenshots: the pictures of the views in docs/images, taken from real traces on
// this machine. The MCP Apps views are shown the way a host shows them (ext-apps' AppBridge in
// the tests' host page, a real `mcptrace serve` behind it); the history page through
// `mcptrace ui`. Needs root, bpftrace and Debian's chromium (bash scripts/setup-machine.sh).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BIN, REPO, startAppsHost } from './ui-host.mjs';

const out = path.join(REPO, 'docs/images');
mkdirSync(out, { recursive: true });
const host = await startAppsHost({ stderr: 'inherit' });
const { call } = host;
const env = { ...process.env, MCPTRACE_STATE_DIR: host.stateDir };
const view = (name, input, result, theme = 'light') => host.open(name, input, result, { theme });

async function shot(page, frame, file) {
  // The iframe is made as tall as the view's content, so the picture shows all of it.
  await frame.waitForTimeout(500);
  const height = Math.min(Math.ceil(await frame.evaluate(() => document.querySelector('main').getBoundingClientRect().bottom)) + 16, 2000);
  await page.evaluate((h) => (document.getElementById('view').style.height = `${h}px`), height);
  await page.setViewportSize({ width: 1100, height });
  await page.screenshot({ path: path.join(out, file) });
  console.log(`docs/images/${file}`);
}

// Kernel work to profile: reading random bytes is CPU time in the kernel's crypto code.
const busy = () => spawn('dd', ['if=/dev/urandom', 'of=/dev/null', 'bs=64k', 'count=1000000']);

// The live run, streaming, then stopped with its maps.
const program =
  'tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@start[tid]/ { @read_us = hist((nsecs - @start[tid]) / 1000); @reads[comm] = count(); delete(@start[tid]); } interval:ms:200 { printf("%-6d ms  tick %d\\n", elapsed / 1000000, @ticks); @ticks++; } END { clear(@start); }';
const started = await call('exec_program', { program, timeout: 120 });
{
  const { page, frame } = await view('live-run', { program }, started);
  await frame.waitForFunction(() => (document.getElementById('output')?.textContent ?? '').split('\n').length > 12, undefined, { timeout: 30_000 });
  await shot(page, frame, 'ui-live-running.png');
  await frame.click('#stop');
  await frame.waitForSelector('figure.chart [data-percentile="p50"]', { timeout: 60_000 });
  await shot(page, frame, 'ui-live-stopped.png');
  await page.close();
}

// Flame graphs: one profile, then the differential of two.
async function profile(hz) {
  const b = busy();
  try {
    const r = await call('exec_program', { program: `profile:hz:${hz} /pid > 0/ { @[kstack] = count(); }`, timeout: 3, wait: true });
    return r.structuredContent.execution_id;
  } finally {
    b.kill();
  }
}
const a = await profile(499);
const b = await profile(997);
{
  const { page, frame } = await view('flamegraph', { execution_id: b }, undefined);
  await frame.waitForSelector('.frame');
  await shot(page, frame, 'ui-flamegraph.png');
  await page.close();
}
{
  const compared = await call('compare_runs', { a, b, png: false });
  const { page, frame } = await view('flamegraph', { a, b }, compared, 'dark');
  await frame.waitForSelector('.frame');
  await shot(page, frame, 'ui-flamegraph-diff-dark.png');
  await page.close();
}

// Charts of an analysis.
{
  const run = await call('exec_program', {
    program:
      'tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@start[tid]/ { @read_latency_us = hist((nsecs - @start[tid]) / 1000); @reads[comm] = count(); delete(@start[tid]); } interval:ms:250 { print(@reads); } END { clear(@start); }',
    timeout: 3,
    wait: true,
  });
  const id = run.structuredContent.execution_id;
  const analysed = await call('analyze_output', { execution_id: id, png: false });
  const { page, frame } = await view('charts', { execution_id: id }, analysed);
  await frame.waitForSelector('[data-percentile="p99"]');
  await shot(page, frame, 'ui-charts.png');
  await page.close();
}

// The history page in a browser, through mcptrace ui.
{
  const ui = spawn(process.execPath, [BIN, 'ui', '--no-open'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const link = await new Promise((resolve) => ui.stdout.on('data', (d) => resolve(String(d).trim())));
  const page = await host.browser.newPage({ viewport: { width: 1100, height: 560 } });
  await page.goto(link);
  await page.waitForSelector('#runs tbody tr');
  await page.screenshot({ path: path.join(out, 'ui-history.png') });
  console.log('docs/images/ui-history.png');
  await page.close();
  ui.kill('SIGINT');
}

await host.close();
