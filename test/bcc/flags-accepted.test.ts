import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { loadBccSpec, resolveBccCommand } from '../../src/kinds/bcc/bcc-spec.js';
import { NON_PROGRAM_INPUTS } from '../../src/kinds/runnable.js';
import { describeKernel } from '../helpers/kernel.js';

// Every flag the catalog maps is one the installed provider accepts: each runnable tool starts
// with all its mapped inputs set (flags that exclude each other in separate runs) and must run
// until its SIGINT without an argument error. What each flag does is checked in tools.test.ts.
const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(() => core.shutdown());
const disk = readdirSync('/sys/block').find((d) => !/^(loop|ram|zram|dm-)/.test(d)) ?? 'vda';
const SAMPLES: Record<string, unknown> = {
  pid: process.pid,
  tid: process.pid,
  uid: 0,
  name: 'node',
  comm: 'node',
  disk,
  signal: 18,
  errno: 2,
  top: 5,
  min_us: 100,
  local_port: '80',
  remote_port: '80',
  function: '/lib/x86_64-linux-gnu/libc.so.6:getpwnam',
};
// Inputs that cannot go together; each gets a run of its own.
const APART = [['ipv6'], ['microseconds'], ['per_thread'], ['count', 'nanoseconds'], ['pid']];

const runnable = readdirSync('bcc')
  .map((f) => loadBccSpec(path.resolve('bcc', f)).spec!)
  .filter((s) => !s.needs?.length);

function startAndInterrupt(argv: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGINT'), 1200);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

describeKernel('every mapped flag is accepted by the installed provider', () => {
  for (const spec of runnable) {
    it(spec.tool, async () => {
      const mapped = (spec.variants[0].args ?? []).map((a) => a.input);
      const groups = [mapped.filter((m) => !APART.flat().includes(m)), ...APART.map((g) => g.filter((m) => mapped.includes(m)))].filter((g) => g.length);
      // funclatency -p with a library path is refused by 0.26 (its manifest says so).
      if (spec.tool === 'funclatency') groups.forEach((g) => g.includes('pid') && g.splice(g.indexOf('pid'), 1));
      // A tool with no flags mapped (bashreadline) still runs once, as the catalog starts it.
      const runs = groups.filter((g) => g.length);
      for (const group of runs.length ? runs : [[]]) {
        const input = Object.fromEntries(group.map((k) => [k, SAMPLES[k] ?? true]));
        if (spec.tool === 'funclatency') input.function = SAMPLES.function;
        const { argv } = resolveBccCommand(spec, input, new Set(NON_PROGRAM_INPUTS));
        const r = await startAndInterrupt(argv);
        expect({ argv, stderr: r.stderr.trim(), code: r.code }).toEqual({ argv, stderr: '', code: 0 });
      }
    });
  }
});
