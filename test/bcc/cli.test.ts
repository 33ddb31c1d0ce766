import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { describeKernel } from '../helpers/kernel.js';

// The bcc tools are CLI commands too, with the same result as over MCP (--json).
describeKernel('bcc tools as CLI commands', () => {
  it('mcptrace execsnoop --json prints typed rows; the text form prints the tool output', async () => {
    // A workload it must see (a quiet VM once had no hard IRQ in a whole second).
    const json = runCli(['execsnoop', '--duration', '2', '--json']);
    const load = setInterval(() => spawnSync('/bin/true'), 200);
    expect(await json.exited.finally(() => clearInterval(load))).toBe(0);
    const r = JSON.parse(json.stdout());
    expect(r.status).toBe('completed');
    expect(r.columns.map((c: { name: string }) => c.name)).toContain('pcomm');
    expect(r.rows.length).toBeGreaterThan(0);
    const text = runCli(['runqlat', '--duration', '1']);
    expect(await text.exited).toBe(0);
    expect(text.stdout()).toMatch(/usecs\s+: count\s+distribution/);
    expect(text.stdout() + text.stderr()).toMatch(/runqlat\): completed/);
  });

  it('a tool that cannot run here exits non-zero with the reason', async () => {
    const r = runCli(['tcpconnect', '--duration', '1']);
    expect(await r.exited).not.toBe(0);
    expect(r.stdout() + r.stderr()).toMatch(/needs kprobes, and this kernel has none/);
  });
});
