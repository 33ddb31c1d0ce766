import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { describeKernel } from '../helpers/kernel.js';
import { startServer, type TestServer } from '../helpers/mcp.js';
import { parseXml } from './xml.js';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'analysis');
const NAMES = ['syscall-count', 'read-size-hist', 'kstack-profile', 'interval-rate', 'printf-stream', 'read-latency-stats'];

type Content = { type: string; data?: string; mimeType?: string; resource?: { uri: string; mimeType?: string; text?: string } };
const images = (r: { content: unknown[] }) => (r.content as Content[]).filter((c) => c.type === 'image');
const resources = (r: { content: unknown[] }) => (r.content as Content[]).filter((c) => c.type === 'resource');

/** Keeps a CPU busy in the kernel (reads of /proc) while a profile samples, so its stacks are real work. */
function kernelLoad(ms: number) {
  const child = spawn(
    'sh',
    ['-c', `end=$(($(date +%s) + ${Math.ceil(ms / 1000)})); while [ $(date +%s) -lt $end ]; do cat /proc/self/maps /proc/stat > /dev/null; done`],
    { stdio: 'ignore' },
  );
  return () => child.kill('SIGKILL');
}

describe('analyze_output and compare_runs over MCP, on recorded runs (every result checked against the outputSchema by the SDK)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  for (const name of NAMES) {
    it(`${name}: a schema-valid analysis with its picture`, async () => {
      const r = await s.call('analyze_output', { execution_id: path.join(FIXTURES, `${name}.json`) });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent.summary.length).toBeGreaterThan(10);
      const [svg] = resources(r);
      expect(svg.resource!.mimeType).toBe('image/svg+xml');
      expect(svg.resource!.uri).toMatch(/^mcptrace:\/\/analysis\/.+\/(flamegraph|histogram|timeseries|bars)\.svg$/);
      parseXml(svg.resource!.text!);
      const [png] = images(r);
      expect(png.mimeType).toBe('image/png');
      expect(Buffer.from(png.data!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    });
  }

  it('a profile gets a flame graph; folded stacks on request; no PNG when png is false', async () => {
    const r = await s.call('analyze_output', { execution_id: path.join(FIXTURES, 'kstack-profile.json'), folded: true, png: false });
    expect(r.structuredContent.pictures[0]).toMatchObject({ kind: 'flamegraph', name: 'flamegraph.svg' });
    expect(r.structuredContent.folded).toMatch(/^entry_SYSCALL_64_after_hwframe;do_syscall_64;/m);
    expect(images(r)).toEqual([]);
  });

  it('errors say what and how: an unknown id or file, a picture the run cannot have', async () => {
    const missing = await s.call('analyze_output', { execution_id: 'exec-zz' });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toMatch(/Nor is \\"exec-zz\\" a file/);
    const noStacks = await s.call('analyze_output', { execution_id: path.join(FIXTURES, 'syscall-count.json'), picture: 'flamegraph' });
    expect(noStacks.isError).toBe(true);
    expect(JSON.stringify(noStacks.content)).toMatch(/kstack/);
    const notJson = await s.call('analyze_output', { execution_id: path.join(FIXTURES, 'record.sh') });
    expect(JSON.stringify(notJson.content)).toMatch(/neither a saved run/);
  });

  it('compare_runs on two recorded files', async () => {
    const r = await s.call('compare_runs', { a: path.join(FIXTURES, 'kstack-profile.json'), b: path.join(FIXTURES, 'kstack-profile.json') });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent.stacks[0].frames_grown).toEqual([]);
    expect(resources(r)[0].resource!.uri).toMatch(/flamegraph-diff\.svg$/);
  });
});

describe('mcptrace analyze on saved files', () => {
  it('--flamegraph, --chart and --folded write what they say', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-analyze-'));
    const svg = path.join(dir, 'fg.svg');
    const run = runCli(['analyze', path.join(FIXTURES, 'kstack-profile.json'), '--flamegraph', svg]);
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toContain(`flamegraph written to ${svg}`);
    expect(parseXml(readFileSync(svg, 'utf8')).elements.some((e) => e.attrs.class === 'f')).toBe(true);
    const png = path.join(dir, 'h.png');
    const chart = runCli(['analyze', path.join(FIXTURES, 'read-size-hist.json'), '--chart', png]);
    expect(await chart.exited).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    // The terminal keeps bpftrace's histogram layout.
    expect(chart.stdout()).toMatch(/^\[4K, 8K\)\s+\d+ \|@+\s*\|$/m);
    const folded = runCli(['analyze', path.join(FIXTURES, 'kstack-profile.json'), '--folded']);
    expect(await folded.exited).toBe(0);
    expect(
      folded
        .stdout()
        .trim()
        .split('\n')
        .every((l) => /^\S.* \d+$/.test(l)),
    ).toBe(true);
  });

  it('compare writes the differential flame graph of two saved profiles', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-compare-'));
    const out = path.join(dir, 'diff.svg');
    const profile = path.join(FIXTURES, 'kstack-profile.json');
    const run = runCli(['compare', profile, profile, '--flamegraph', out]);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('@: 588 → 588 samples');
    const svg = readFileSync(out, 'utf8');
    parseXml(svg);
    expect(svg).toContain('vs before');
    const noStacks = runCli(['compare', path.join(FIXTURES, 'syscall-count.json'), path.join(FIXTURES, 'syscall-count.json'), '--flamegraph', out]);
    expect(await noStacks.exited).toBe(2);
    expect(noStacks.stderr()).toMatch(/share no map keyed by kstack/);
  });

  it('a file that is not a saved run exits 2 with a fix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-analyze-'));
    const f = path.join(dir, 'x.txt');
    writeFileSync(f, 'hello\n');
    const run = runCli(['analyze', f]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/exec --json --include-maps/);
  });
});

describeKernel('analysis of real runs on this kernel', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('exec_program a 99 Hz kernel-stack profile → analyze_output → a PNG flame graph and its SVG', async () => {
    const stop = kernelLoad(2000);
    try {
      const run = await s.call('exec_program', { program: 'profile:hz:99 { @[kstack] = count(); }', timeout: 2, wait: true });
      expect(run.structuredContent.status).toBe('timed_out');
      const r = await s.call('analyze_output', { execution_id: run.structuredContent.execution_id, folded: true });
      expect(r.isError).toBeFalsy();
      const st = r.structuredContent.stacks[0];
      expect(st.samples).toBeGreaterThan(50);
      expect(r.structuredContent.pictures[0].kind).toBe('flamegraph');
      const svg = resources(r)[0].resource!.text!;
      const boxes = parseXml(svg).elements.filter((e) => e.attrs.class === 'f').length - 1;
      expect(boxes).toBe(r.structuredContent.pictures[0].frames);
      expect(images(r)[0].mimeType).toBe('image/png');
    } finally {
      stop();
    }
  }, 30_000);

  it('an interval rate becomes a series with a rate per second; compare_runs sees the two runs', async () => {
    const program = 'tracepoint:raw_syscalls:sys_enter { @ = count(); } interval:ms:200 { print(@); clear(@); @ticks++; if (@ticks == 5) { exit(); } }';
    const a = await s.call('exec_program', { program, wait: true });
    const b = await s.call('exec_program', { program, wait: true });
    const r = await s.call('analyze_output', { execution_id: a.structuredContent.execution_id, png: false });
    const series = r.structuredContent.series[0];
    expect(series.points).toHaveLength(5);
    expect(series.interval_seconds).toBe(0.2);
    expect(series.rate_per_second).toBeCloseTo(series.mean / 0.2, 0);
    expect(resources(r)[0].resource!.uri).toMatch(/timeseries\.svg$/);
    const c = await s.call('compare_runs', { a: a.structuredContent.execution_id, b: b.structuredContent.execution_id });
    expect(c.isError).toBeFalsy();
    expect(c.structuredContent.a).toBe(a.structuredContent.execution_id);
  }, 30_000);

  it('the CLI analyses a saved `exec --json --include-maps` run of a read-size histogram', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-analyze-'));
    const saved = path.join(dir, 'reads.json');
    const exec = runCli([
      'exec',
      '--json',
      '--include-maps',
      '--timeout',
      '1',
      'tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }',
    ]);
    const stop = kernelLoad(1500);
    await exec.exited;
    stop();
    writeFileSync(saved, exec.stdout());
    const out = path.join(dir, 'reads.svg');
    const run = runCli(['analyze', saved, '--chart', out, '--json']);
    expect(await run.exited).toBe(0);
    const result = JSON.parse(run.stdout());
    expect(result.histograms[0]).toMatchObject({ map: '@bytes', scale: 'log2' });
    expect(result.histograms[0].total).toBeGreaterThan(0);
    parseXml(readFileSync(out, 'utf8'));
  }, 30_000);
});
