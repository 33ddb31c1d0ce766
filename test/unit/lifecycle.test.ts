import { afterEach, describe, expect, it } from 'vitest';
import { fakePreflight } from '../helpers/preflight.js';
import { Core, type CoreOptions } from '../../src/core/core.js';
import type { Execution } from '../../src/runtime/execution.js';
import { FakeSpawner, recording, type FakeBehaviour } from '../helpers/fake-tracer.js';
import { expectConforms } from '../helpers/output-schema.js';

// The run state machine and every stop path, against recorded bpftrace 0.17 output replayed by
// a fake tracer: no root, no kernel. test/integration/ proves the recordings still hold.
const cores: Core[] = [];
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

function setup(rec: string, how: FakeBehaviour = {}, opts: CoreOptions = {}) {
  const spawner = new FakeSpawner(recording(rec), how);
  const core = new Core({
    env: { HOME: '/nonexistent' },
    spawner,
    preflight: fakePreflight,
    ...opts,
    runner: { graceMs: 2_000, ...opts.runner },
  });
  cores.push(core);
  const call = async (tool: string, args: Record<string, unknown>, ctx = {}) => {
    const r = await core.callTool(tool, args, ctx);
    expectConforms(core, tool, r);
    return r;
  };
  const run = (id: unknown) => core.runner.get(String(id)) as Execution;
  return { core, spawner, call, run };
}

// The final maps of the count-map recording, as bpftrace prints them in text mode.
const finalMaps = (() => {
  const maps = Object.assign(
    {},
    ...recording('count-map')
      .after.stdout.filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l).data),
  );
  return Object.entries(maps).flatMap(([name, v]) =>
    typeof v === 'object' ? Object.entries(v as object).map(([k, n]) => `${name}[${k}]: ${n}`) : [`${name}: ${v}`],
  );
})();
const TICKS = finalMaps.find((l) => l.startsWith('@ticks: '))!;

const until = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

describe('run lifecycle, replayed tracer', () => {
  it('timeout: one SIGINT, the maps print, status timed_out', async () => {
    const { call, spawner } = setup('count-map');
    const r = await call('exec_program', { program: 'x', timeout: 0.2, wait: true });
    expect(r.structured).toMatchObject({ status: 'timed_out', exit_code: 0, phase: 'ended' });
    // bpftrace 0.17's text: the attach line, two blank lines at exit, then the maps.
    expect(r.structured.output).toEqual(['Attaching 1 probe...', '', '', ...finalMaps]);
    expect(spawner.last.signals).toEqual(['SIGINT']);
    expect(r.errorKind).toBe('timeout');
  });

  it('stop_execution: stopped, and the answer carries the final maps', async () => {
    const { call, run } = setup('count-map');
    const started = await call('exec_program', { program: 'x', timeout: 60 });
    expect(started.structured.status).toBe('running');
    await until(() => run(started.structured.execution_id).attachedAt !== undefined);
    const stopped = await call('stop_execution', { execution_id: started.structured.execution_id });
    expect(stopped.structured).toMatchObject({ status: 'stopped', output: ['Attaching 1 probe...', '', '', ...finalMaps] });
    expect(stopped.isError).toBe(false);
  });

  it('cancel: an aborted call stops the run and still returns its maps', async () => {
    const { call } = setup('count-map');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const r = await call('exec_program', { program: 'x', timeout: 60, wait: true }, { signal: abort.signal });
    expect(r.structured).toMatchObject({ status: 'stopped', exit_code: 0 });
    expect(r.structured.output).toContain(TICKS);
  });

  it('SIGKILL only after the grace period, when every SIGINT is ignored', async () => {
    const { call, spawner } = setup('count-map', { dropSigints: Infinity }, { runner: { graceMs: 400 } });
    const t0 = Date.now();
    const r = await call('exec_program', { program: 'x', timeout: 0.1, wait: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(r.structured).toMatchObject({ status: 'timed_out', signal: 'SIGKILL', phase: 'ended: killed after the grace period, map output may be incomplete' });
    expect(spawner.last.signals[0]).toBe('SIGINT');
    expect(spawner.last.signals.at(-1)).toBe('SIGKILL');
  });

  it('a SIGINT that bpftrace drops is sent again, so the maps still come', async () => {
    const { call, spawner } = setup('count-map', { dropSigints: 1 });
    const r = await call('exec_program', { program: 'x', timeout: 0.1, wait: true });
    expect(spawner.last.signals).toEqual(['SIGINT', 'SIGINT']);
    expect(r.structured).toMatchObject({ status: 'timed_out', signal: null });
    expect(r.structured.output).toContain(TICKS);
  });

  it('a stop before the probes attach holds the SIGINT until they are', async () => {
    const { call, spawner, run } = setup('count-map', { attachDelayMs: 300 });
    const started = await call('exec_program', { program: 'x', timeout: 60 });
    const e = run(started.structured.execution_id);
    await until(() => e.status === 'running');
    const stopping = call('stop_execution', { execution_id: e.id });
    await until(() => e.phase === 'stop-held');
    expect(spawner.last.signals).toEqual([]);
    const r = await stopping;
    expect(r.structured).toMatchObject({ status: 'stopped' });
    expect(r.structured.output).toContain(TICKS);
    expect(spawner.last.signals).toEqual(['SIGINT']);
  });

  it('an attach notice that never comes does not turn the stop into a SIGKILL', async () => {
    const { call, spawner } = setup('count-map', { noAttachNotice: true }, { runner: { graceMs: 2_000 } });
    const r = await call('exec_program', { program: 'x', timeout: 0.1, wait: true });
    expect(r.structured).toMatchObject({ status: 'timed_out', signal: null });
    expect(r.structured.output).toContain(TICKS);
    expect(spawner.last.signals).not.toContain('SIGKILL');
  });

  it('a program that exits by itself completes, with its histogram and stats', async () => {
    const { call, spawner } = setup('hist-exit', { exitsAlone: true });
    const r = await call('exec_program', { program: 'interval:ms:10 { exit(); }', wait: true, include_maps: true });
    expect(r.structured.status).toBe('completed');
    expect(r.structured.output).toContain('@s: count 1, average 3, total 3');
    expect((r.structured.maps as Record<string, { type: string }>)['@h'].type).toBe('hist');
    expect(spawner.last.signals).toEqual([]);
  });

  it('a compile error is failed, with the located message, a fix, and no notice in the error', async () => {
    const { call } = setup('compile-error', { exitsAlone: true });
    const r = await call('exec_program', { program: 'BEGIN { @x = ; }', wait: true });
    expect(r.isError).toBe(true);
    expect(r.errorKind).toBe('failed');
    expect(r.structured.error_message).toContain('stdin:1:14-15: ERROR: syntax error, unexpected ;');
    expect(r.structured.error_message).not.toContain('RLIMIT_MEMLOCK');
    // The hint is the validator's fix for the first error, with its place (same as validate_program).
    expect(r.structured.hint).toMatch(/^at line 1:14: /);
    expect(r.structured.errors[0]).toMatchObject({ category: 'syntax', line: 1, column: 14 });
    expect(r.structured.notices).toHaveLength(1);
  });

  it('a run stopped while queued never starts', async () => {
    const { call, spawner } = setup('count-map', {}, { runner: { concurrency: 1 } });
    const a = await call('exec_program', { program: 'a', timeout: 60 });
    const b = await call('exec_program', { program: 'b', timeout: 60 });
    const stopped = await call('stop_execution', { execution_id: b.structured.execution_id });
    expect(stopped.structured).toMatchObject({ status: 'stopped', started_at: null, output: [] });
    await call('stop_execution', { execution_id: a.structured.execution_id });
    expect(spawner.started.map((t) => t.argv.at(-1))).toEqual(['a']);
  });

  it('shutdown stops every running tracer with SIGINT and waits for it', async () => {
    const { core, call, spawner, run } = setup('printf-stream');
    const r = await call('exec_program', { program: 'x', timeout: 60 });
    await until(() => run(r.structured.execution_id).attachedAt !== undefined);
    await core.shutdown();
    const e = run(r.structured.execution_id);
    expect(e.status).toBe('stopped');
    expect(e.lines).toContain('bye');
    expect(spawner.last.signals[0]).toBe('SIGINT');
  });

  it('the queue refuses a run past its bound, even for calls that arrive together', async () => {
    const { call } = setup('count-map', {}, { runner: { concurrency: 1, maxQueued: 2 } });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => call('exec_program', { program: `p${i}`, timeout: 60 })));
    const refused = results.filter((r) => r.isError);
    // One runs (once its spawn starts it leaves the queue), two wait, the rest are refused.
    expect(results.length - refused.length).toBeLessThanOrEqual(3);
    expect(refused[0].text).toContain('the run queue is full');
  });
});
