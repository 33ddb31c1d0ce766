import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { describeKernel } from '../helpers/kernel.js';

// The bcc tools are CLI commands too, with the same result as over MCP (--json).
describeKernel('bcc tools as CLI commands', () => {
  it('mcptrace hardirqs --json prints typed rows; the text form prints the tool output', async () => {
    const json = runCli(['hardirqs', '--duration', '1', '--json']);
    expect(await json.exited).toBe(0);
    const r = JSON.parse(json.stdout());
    expect(r.status).toBe('completed');
    expect(r.columns.map((c: { name: string }) => c.name)).toEqual(['hardirq', 'total_usecs']);
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
