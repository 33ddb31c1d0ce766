import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { BPFTRACE, describeKernel, pidsWith, SLOWDOWN, waitFor } from '../helpers/kernel.js';

const USER_TOOLS = path.join(__dirname, '../fixtures/user-tools');
const cores: Core[] = [];
const newCore = (runner = {}) => {
  const c = new Core({ toolsDirs: [USER_TOOLS], env: { HOME: '/nonexistent' }, runner });
  cores.push(c);
  return c;
};
afterAll(async () => {
  await Promise.all(cores.map((c) => c.shutdown()));
});

describeKernel('scheduler limits (real bpftrace)', () => {
  it('runs at most `concurrency` at once, queues the next and refuses past the queue bound', async () => {
    const core = newCore({ concurrency: 1, maxQueued: 1 });
    const m = `msched${process.pid}`;
    const prog = (n: number) => ({ program: `interval:ms:100 { @${m}_${n} = count(); }`, timeout: 30 });
    const a = await core.callTool('exec_program', prog(1));
    // Queued until its process is spawned, which is at once for the first slot.
    expect(await waitFor(() => core.runner.get(String(a.structured.execution_id))!.status === 'running', 5_000)).toBe(true);
    const b = await core.callTool('exec_program', prog(2));
    const c = await core.callTool('exec_program', prog(3));
    expect(b.structured.status).toBe('queued');
    expect(c.isError).toBe(true);
    expect(c.text).toContain('the run queue is full: 1 runs are executing and 1 are waiting (limit 1)');
    expect(c.text).toContain('stop_execution');
    // Stopping the running one lets the queued one start.
    const ea = core.runner.get(String(a.structured.execution_id))!;
    const eb = core.runner.get(String(b.structured.execution_id))!;
    await waitFor(() => ea.attachedAt !== undefined, 10_000);
    await core.callTool('stop_execution', { execution_id: ea.id });
    expect(ea.status).toBe('stopped');
    expect(await waitFor(() => eb.status === 'running', 5_000)).toBe(true);
    await core.callTool('stop_execution', { execution_id: eb.id });
    expect(pidsWith(m)).toEqual([]);
  });

  it('a run stopped while queued never starts', async () => {
    const core = newCore({ concurrency: 1, maxQueued: 4 });
    const a = await core.callTool('exec_program', { program: 'interval:ms:100 { @a = count(); }', timeout: 30 });
    const b = await core.callTool('exec_program', { program: 'BEGIN { printf("never\\n"); exit(); }' });
    const stopped = await core.callTool('stop_execution', { execution_id: b.structured.execution_id });
    expect(stopped.structured.status).toBe('stopped');
    expect(stopped.structured.started_at).toBeNull();
    await core.callTool('stop_execution', { execution_id: a.structured.execution_id });
    expect(core.runner.get(String(b.structured.execution_id))!.lines).toEqual([]);
  });
});

describeKernel('output bounds', () => {
  it('forgets the oldest finished runs once their output passes the retention budget', async () => {
    const core = newCore({ maxRetainedBytes: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await core.callTool('exec_program', { program: `BEGIN { printf("run ${i} output\\n"); exit(); }`, wait: true });
      ids.push(String(r.structured.execution_id));
    }
    // Each run keeps 13 bytes; past a 10-byte budget the finished runs are forgotten, oldest
    // first, when the next run starts, and asking for one is an actionable error.
    await core.callTool('exec_program', { program: 'BEGIN { exit(); }', wait: true });
    expect(core.runner.get(ids[0])).toBeUndefined();
    expect(core.runner.get(ids[1])).toBeUndefined();
    expect(core.runner.get(ids[2])).toBeUndefined();
    const gone = await core.callTool('get_result', { execution_id: ids[0] });
    expect(gone.text).toContain('up to 0 MiB of output in all');
  });

  it('caps lines and bytes, counts what it dropped, and always keeps the final maps', async () => {
    const core = newCore();
    const r = await core.callTool('capped_program', {
      program: 'BEGIN { $i = 0; while ($i < 50) { printf("line %d\\n", $i); $i++; } @big[1] = 1; @big[2] = 2; @total = count(); exit(); }',
      wait: true,
      include_maps: true,
    });
    const v = r.structured as any;
    expect(v.status).toBe('completed');
    // The first five lines bpftrace printed (after its attach line, where the version prints one).
    const printed = v.output.filter((l: string) => l.startsWith('line '));
    expect(printed).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4'].slice(0, printed.length));
    expect(printed.length).toBeGreaterThanOrEqual(4);
    // Everything past the cap was dropped and counted (the line output, the exit's blank lines).
    expect(v.dropped.lines).toBeGreaterThanOrEqual(50 - printed.length);
    // Sorted: bpftrace 0.27 prints maps of narrow integers in hash order.
    expect(v.output.slice(-3).sort()).toEqual(['@big[1]: 1', '@big[2]: 2', '@total: 1']);
    expect(v.maps['@big'].value).toEqual({ 1: 1, 2: 2 });
    expect(r.text).toContain(`${v.dropped.lines} lines`);
    expect(r.text).toContain('the final map output is always kept');
  });
});

describeKernel('bcc tools', () => {
  it('execsnoop streams live and loses nothing when stopped', async () => {
    const core = newCore();
    const r = await core.callTool('execsnoop', { duration: 30 });
    const exec = core.runner.get(String(r.structured.execution_id))!;
    // libbpf tools print a header once attached; wait for it before generating events.
    expect(await waitFor(() => exec.lines.length > 0, 10_000)).toBe(true);
    const tag = `mcptrace-live-${process.pid}`;
    const runs = 20;
    for (let i = 0; i < runs; i++) {
      await new Promise((res) => spawn('/bin/echo', [tag, String(i)], { stdio: 'ignore' }).on('exit', res));
    }
    // Live: the lines arrive while the tool is still running.
    expect(await waitFor(() => exec.lines.filter((l) => l.includes(tag)).length === runs, 10_000)).toBe(true);
    expect(exec.status).toBe('running');
    const stopped = await core.callTool('stop_execution', { execution_id: exec.id });
    expect(stopped.structured.status).toBe('stopped');
    expect(exec.lines.filter((l) => l.includes(tag))).toHaveLength(runs);
    expect(exec.variant).toBe('execsnoop');
  });

  it('falls back to the bpftrace script when the preferred binary is missing', async () => {
    const core = new Core({ toolsDirs: [path.join(__dirname, '../fixtures/fallback-tools')], env: { HOME: '/nonexistent' } });
    cores.push(core);
    // Stopped once the exec is seen, rather than after a short duration: under emulation the
    // attach alone can take longer than one.
    const started = await core.callTool('fakesnoop', { duration: 120, timeout: 180 });
    const exec = core.runner.get(String(started.structured.execution_id))!;
    expect(await waitFor(() => exec.attachedAt !== undefined, 15_000 * SLOWDOWN)).toBe(true);
    const tag = `mcptrace-fallback-${process.pid}`;
    await new Promise((res) => spawn('/bin/echo', [tag], { stdio: 'ignore' }).on('exit', res));
    await waitFor(() => exec.lines.some((l) => l.includes(tag)), 15_000 * SLOWDOWN);
    await core.callTool('stop_execution', { execution_id: exec.id });
    await waitFor(() => exec.finished, 60_000 * SLOWDOWN);
    expect(exec.variant).toBe('execsnoop.bt');
    expect(exec.status).toBe('stopped');
    expect(exec.lines.some((l) => l.includes(tag))).toBe(true);
    // An option only the missing variant has is refused, not silently ignored.
    const r = await core.callTool('fakesnoop', { name: 'x', duration: 1 });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('execsnoop.bt (the installed variant of fakesnoop) does not support the "name" option');
  });

  it('a bcc tool ends normally after its duration', async () => {
    const core = newCore();
    const r = await core.callTool('execsnoop', { duration: 1, wait: true });
    expect(r.structured.status).toBe('completed');
    expect((r.structured.output as string[])[0]).toMatch(/PCOMM\s+PID\s+PPID/);
  });
});

describeKernel('the status of a run is what its process did', () => {
  // bpftrace 0.25+ ends a program by itself once nothing left can fire (only begin probes, no
  // exit()); older ones run until stopped. The reference is bpftrace itself, run directly.
  it('a program that ends by itself is completed, one that does not times out', async () => {
    const program = 'BEGIN { printf("hi\\n"); }';
    const direct = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const child = spawn(BPFTRACE, ['-e', program], { stdio: 'ignore', cwd: '/tmp' });
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.on('exit', (code, signal) => {
        clearTimeout(t);
        resolve({ code, signal });
      });
    });
    const r = (await newCore().callTool('exec_program', { program, wait: true, timeout: 5 })).structured;
    expect(r.output).toContain('hi');
    if (direct.signal === null) {
      expect(direct.code).toBe(0);
      expect(r).toMatchObject({ status: 'completed', exit_code: 0, signal: null, error_message: null, hint: null });
    } else {
      expect(r.status).toBe('timed_out');
    }
  }, 30_000);
});
