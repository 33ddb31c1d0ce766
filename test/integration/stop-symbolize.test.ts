import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { describeKernel, SLOWDOWN, waitFor } from '../helpers/kernel.js';

// The default grace period (30 s): the point is what a user gets. Under emulation (the
// stock-kernel guest) the symbol resolution takes SLOWDOWN times as long, and so does the grace
// period given to it, as the operator of a machine that slow would set it (--grace).
const core = new Core({ env: { HOME: '/nonexistent' }, runner: { graceMs: 30_000 * SLOWDOWN } });
afterAll(() => core.shutdown());

describeKernel('stopping a run whose maps take long to print', () => {
  // After SIGINT, bpftrace resolves the symbols of every user stack before it prints the first
  // map line: for system-wide user stacks, tens of seconds of CPU with nothing printed. A second
  // SIGINT in that silence cuts the maps short, and a SIGKILL at the grace period loses them.
  it('system-wide user stacks: the maps arrive, with no SIGKILL', { timeout: 240_000 * SLOWDOWN }, async () => {
    const load: ChildProcess[] = [0, 1].map(() =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 60000; let x = 0; while (Date.now() < end) x = Math.sqrt(x + Date.now());'], {
        stdio: 'ignore',
      }),
    );
    try {
      const r = await core.callTool('exec_program', { program: 'profile:hz:49 /pid != 0/ { @user_stacks[comm, ustack] = count(); }', timeout: 200 * SLOWDOWN });
      const id = String(r.structured.execution_id);
      const exec = core.runner.get(id)!;
      expect(await waitFor(() => exec.attachedAt !== undefined, 30_000 * SLOWDOWN)).toBe(true);
      await new Promise((res) => setTimeout(res, 4000));
      const t0 = Date.now();
      await core.callTool('stop_execution', { execution_id: id, wait: 0 });
      await waitFor(() => exec.finished, 200_000 * SLOWDOWN, 200);
      process.stderr.write(`stop-symbolize: stop to exit ${Date.now() - t0} ms, killed ${exec.killed}\n`);
      expect({ status: exec.status, killed: exec.killed }).toEqual({ status: 'stopped', killed: false });
      const stacks = exec.maps.get('@user_stacks');
      expect(stacks, exec.stderr.map((l) => l.text).join('\n')).toBeDefined();
      expect(JSON.stringify(stacks)).toMatch(/node/);
    } finally {
      load.forEach((p) => p.kill('SIGKILL'));
    }
  });
});
