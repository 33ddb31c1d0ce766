import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import type { Execution } from '../../src/runtime/execution.js';
import { describeKernel, pidsWith, SLOWDOWN, waitFor } from '../helpers/kernel.js';

// Every stop path, many times in a row, with both cores busy: each run's map must come back and
// no run may need SIGKILL. bpftrace 0.17 drops some SIGINTs even after its attach notice, and
// drops every SIGINT before it; both races show most under load. Rounds: MCPTRACE_STRESS_ROUNDS
// (CI runs the default; `npm run test:stress` runs 200).
const ROUNDS = Number(process.env.MCPTRACE_STRESS_ROUNDS ?? 24);
const GRACE_MS = 20_000;
const core = new Core({ env: { HOME: '/nonexistent' }, runner: { graceMs: GRACE_MS } });
const burners: ChildProcess[] = [];

beforeAll(() => {
  for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
});
afterAll(async () => {
  for (const b of burners) b.kill('SIGKILL');
  await core.shutdown();
});

type Path = 'timeout' | 'stop' | 'cancel' | 'stop-before-attach';
const PATHS: Path[] = ['timeout', 'stop', 'cancel', 'stop-before-attach'];

async function round(i: number, path: Path, mark: string): Promise<{ exec: Execution; ms: number }> {
  const map = `@${mark}_${i}`;
  // Counted from BEGIN: since 0.25 an empty map is not printed at all, and a stop may come first.
  const program = `BEGIN { ${map} = count(); } interval:ms:10 { ${map} = count(); }`;
  const t0 = Date.now();
  const get = (id: unknown) => core.runner.get(String(id))!;
  if (path === 'timeout') {
    const r = await core.callTool('exec_program', { program, timeout: 0.4, wait: true });
    return { exec: get(r.structured.execution_id), ms: Date.now() - t0 };
  }
  if (path === 'cancel') {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const r = await core.callTool('exec_program', { program, timeout: 60, wait: true }, { signal: abort.signal });
    return { exec: get(r.structured.execution_id), ms: Date.now() - t0 };
  }
  const r = await core.callTool('exec_program', { program, timeout: 60 });
  const e = get(r.structured.execution_id);
  if (path === 'stop') await waitFor(() => e.attachedAt !== undefined, 15_000 * SLOWDOWN, 5);
  else await waitFor(() => e.pid !== undefined, 15_000 * SLOWDOWN, 1);
  await core.callTool('stop_execution', { execution_id: e.id });
  return { exec: e, ms: Date.now() - t0 };
}

describeKernel('stop paths under CPU load', () => {
  it(
    `${ROUNDS} rounds: every stop path ends with SIGINT and returns the map, never SIGKILL`,
    async () => {
      const mark = `stress${process.pid}`;
      const failures: string[] = [];
      let resent = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const path = PATHS[i % PATHS.length];
        const { exec, ms } = await round(i, path, mark);
        const mapLine = exec.lines.find((l) => l.startsWith(`@${mark}_${i}: `));
        const want = path === 'timeout' ? 'timed_out' : 'stopped';
        if (exec.status !== want || exec.killed || exec.signal !== null || !mapLine) {
          failures.push(
            `round ${i} (${path}): status ${exec.status}, killed ${exec.killed}, signal ${exec.signal}, map ${mapLine ? 'present' : 'MISSING'}, ${ms} ms`,
          );
        }
        if (ms > 3000) resent++;
      }
      process.stderr.write(`stop stress: ${ROUNDS} rounds, ${failures.length} failures, ${resent} slower than 3 s\n`);
      expect(failures).toEqual([]);
      expect(pidsWith(mark)).toEqual([]);
    },
    ROUNDS * 5_000 * SLOWDOWN,
  );
});
