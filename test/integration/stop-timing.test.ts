import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { describeKernel, waitFor } from '../helpers/kernel.js';

const core = new Core({ env: { HOME: '/nonexistent' }, runner: { graceMs: 20_000 } });
afterAll(() => core.shutdown());

describeKernel('stopping a run that has just started', () => {
  // bpftrace ignores a SIGINT that arrives before its probes are attached; a stop issued then
  // must still end the run gracefully, long before the grace period.
  it('holds the SIGINT until the probes are attached, so no SIGKILL is needed', async () => {
    const r = await core.callTool('exec_program', { program: 'interval:ms:10 { @early = count(); }', timeout: 60 });
    const id = String(r.structured.execution_id);
    // The moment its process exists, before bpftrace has attached anything.
    expect(await waitFor(() => core.runner.get(id)!.pid !== undefined, 5_000, 2)).toBe(true);
    expect(core.runner.get(id)!.attachedAt).toBeUndefined();
    const stopped = await core.callTool('stop_execution', { execution_id: id });
    expect(stopped.structured.status).toBe('stopped');
    // A lost SIGINT would have ended in SIGKILL after the grace period.
    expect(core.runner.get(id)!.killed).toBe(false);
    expect(core.runner.get(id)!.attachedAt).toBeDefined();
  });
});
