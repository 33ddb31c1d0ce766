import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { requestStop } from '../../src/runtime/process-lifecycle.js';
import { describeKernel, waitFor } from '../helpers/kernel.js';
import { Puppet } from '../helpers/bcc-workload.js';

// Why the bcc kind wraps libbpf-tools in `stdbuf -oL`, and proof that it works: into a pipe
// they buffer stdout until exit, with stdbuf each line arrives as it is printed, and a SIGINT
// stop still brings the output printed at exit (a histogram tool's whole result).
const puppets: Puppet[] = [];
const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(async () => {
  puppets.forEach((p) => p.kill());
  await core.shutdown();
});

/** Runs opensnoop -p PID into a pipe; returns the bytes seen before and after a SIGINT. */
async function pipeBytes(prefix: string[]): Promise<{ before: number; after: number }> {
  const p = new Puppet();
  puppets.push(p);
  const child = spawn(prefix[0] ?? '/usr/sbin/opensnoop', [...prefix.slice(1), ...(prefix.length ? ['/usr/sbin/opensnoop'] : []), '-p', String(p.pid)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => (bytes += d.length));
  const exited = new Promise((r) => child.on('exit', r));
  // opensnoop prints its header once attached (into the buffer, unless line-buffered).
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 3; i++) await p.do('open /etc/hostname');
  await new Promise((r) => setTimeout(r, 500));
  const before = bytes;
  child.kill('SIGINT');
  await exited;
  return { before, after: bytes };
}

describeKernel('libbpf-tools output buffering', () => {
  it('a libbpf tool writing into a pipe holds its output until it exits', async () => {
    const plain = await pipeBytes([]);
    expect(plain.before).toBe(0);
    expect(plain.after).toBeGreaterThan(0);
  });

  it('under stdbuf -oL the same tool writes every line at once', async () => {
    const buffered = await pipeBytes(['stdbuf', '-oL']);
    expect(buffered.before).toBeGreaterThan(0);
    expect(buffered.after).toBe(buffered.before);
  });

  it('through mcptrace, rows arrive while the tool runs and a stop keeps the last ones', async () => {
    const p = new Puppet();
    puppets.push(p);
    const started = await core.callTool('opensnoop', { pid: p.pid, duration: 60, timeout: 90 });
    const exec = core.runner.get((started.structured as { execution_id: string }).execution_id)!;
    expect(exec.commandLine).toMatch(/^stdbuf -oL /);
    await waitFor(() => exec.lines.length > 0, 15_000);
    await p.do('open /etc/hostname');
    expect(await waitFor(() => (exec.rows ?? []).some((r) => r.row.path === '/etc/hostname'), 5_000)).toBe(true);
    expect(exec.status).toBe('running');
    await p.do('open /etc/passwd');
    requestStop(exec, 'stop');
    await waitFor(() => exec.finished, 15_000);
    expect(exec.status).toBe('stopped');
    expect(exec.rows?.some((r) => r.row.path === '/etc/passwd')).toBe(true);
  });

  it('a histogram tool stopped by SIGINT prints its histogram whole', async () => {
    const started = await core.callTool('runqlat', { duration: 60, timeout: 90 });
    const exec = core.runner.get((started.structured as { execution_id: string }).execution_id)!;
    await waitFor(() => exec.lines.length > 0, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(exec.histograms).toEqual([]);
    requestStop(exec, 'stop');
    await waitFor(() => exec.finished, 15_000);
    expect(exec.status).toBe('stopped');
    expect(exec.histograms?.[0].buckets.reduce((n, b) => n + b.count, 0)).toBeGreaterThan(0);
    expect(exec.lines.filter((l) => /^\s+\d+ -> \d+\s+:/.test(l)).length).toBe(exec.histograms?.[0].buckets.length);
  });
});
