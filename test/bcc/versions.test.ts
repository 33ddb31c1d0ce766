import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { LIBBPF_RUNNER_ENV } from '../../src/kinds/bcc/bcc-spec.js';
import { Puppet, run, scratch, traceWhile } from '../helpers/bcc-workload.js';
import { kernel } from '../helpers/kernel.js';

// The same catalog run against libbpf-tools 0.37 (Debian sid root, scripts/setup-bpftrace-roots.sh)
// through MCPTRACE_LIBBPF_RUNNER: the columns that differ from 0.26 come out typed too.
const SID = '/srv/mcptrace-roots/bin/libbpf-sid';
const ready = kernel.ok && existsSync(SID);
if (kernel.ok && !ready) {
  if (process.env.CI === 'true') throw new Error(`the 0.37 lane needs ${SID}: run scripts/setup-bpftrace-roots.sh`);
  process.stderr.write(`\n!!! SKIPPING libbpf-tools 0.37 tests: ${SID} is missing (scripts/setup-bpftrace-roots.sh)\n\n`);
}

let core: Core;
let tmp: ReturnType<typeof scratch>;
const puppets: Puppet[] = [];
beforeAll(() => {
  process.env[LIBBPF_RUNNER_ENV] = SID;
  core = new Core({ env: { HOME: '/nonexistent' } });
  tmp = scratch();
});
afterAll(async () => {
  delete process.env[LIBBPF_RUNNER_ENV];
  puppets.forEach((p) => p.kill());
  tmp.cleanup();
  await core.shutdown();
});

describe.skipIf(!ready)('bcc tools on libbpf-tools 0.37 (sid root)', () => {
  it('runs the sid binary, and opensnoop filters on the pid', async () => {
    const p = new Puppet();
    puppets.push(p);
    const { view, exec } = await traceWhile(core, 'opensnoop', { pid: p.pid }, () => p.do('open /etc/hostname'));
    expect(exec.commandLine).toContain(`${SID} opensnoop -p ${p.pid}`);
    expect(view.status).toBe('completed');
    expect(view.rows?.some((r) => r.path === '/etc/hostname' && r.pid === p.pid)).toBe(true);
  });

  it('killsnoop has the TCOMM column 0.26 lacks', async () => {
    const p = new Puppet();
    puppets.push(p);
    const { view } = await traceWhile(core, 'killsnoop', { pid: p.pid, signal: 18 }, () => p.do('cont'));
    expect(view.columns?.map((c) => c.name)).toContain('tcomm');
    expect(view.rows?.some((r) => r.tpid === p.pid && r.tcomm === 'node')).toBe(true);
  });

  it('hardirqs prints count, total and max per interrupt', async () => {
    const { view } = await traceWhile(core, 'hardirqs', { duration: 2 }, () => undefined);
    expect(view.columns?.map((c) => c.name)).toEqual(['hardirq', 'total_count', 'total_usecs', 'max_usecs']);
    expect(view.rows?.some((r) => Number(r.total_count) > 0)).toBe(true);
  });

  it('biolatency gives the same histogram shape', async () => {
    const { view } = await traceWhile(core, 'biolatency', {}, () =>
      run(['/bin/dd', 'if=/dev/zero', `of=${tmp.dir}/dd.bin`, 'bs=4k', 'count=64', 'oflag=direct']),
    );
    expect(view.histograms?.[0]).toMatchObject({ name: 'biolatency', unit: 'usecs' });
    expect(view.histograms?.[0].buckets.reduce((n, b) => n + b.count, 0)).toBeGreaterThanOrEqual(64);
  });
});
