import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BCC_DIR, EXAMPLES_DIR, MACHINE_TOOL_DIRS } from '../../src/config/paths.js';
import { Core } from '../../src/core/core.js';
import type { PreparedTemplate } from '../../src/kinds/template/index.js';
import { loadLibrary, loadMachineTools, type Example } from '../../src/knowledge/examples.js';
import { executionView, type ExecutionResult } from '../../src/results/execution-view.js';
import { Puppet, run, scratch, traceWhile } from '../helpers/bcc-workload.js';
import { waitFor } from '../helpers/kernel.js';
import { STOCK_KERNEL } from './guard.js';

// Every kprobe-based tool mcptrace ships, run for real on a stock distribution kernel (the
// host's kernel has no kprobes). A background workload reads, writes, forks and connects over
// loopback, so each probe has something to see.

const core = new Core({ env: { HOME: '/nonexistent' } });
let load: ChildProcess;
let tmp: ReturnType<typeof scratch>;
beforeAll(() => {
  tmp = scratch();
  // Files read and written, processes started, capabilities checked (CAP_CHOWN, CAP_SYS_NICE): the vfs_*, capable and
  // scheduler functions the tools probe all fire.
  const loop = `while :; do cat /etc/hostname /etc/passwd >/dev/null; echo x >${tmp.dir}/f; chown 1 ${tmp.dir}/f; rm -f ${tmp.dir}/f; nice -n -1 true; sleep 0.2; done`;
  load = spawn('/bin/sh', ['-c', loop], { stdio: 'ignore' });
});
afterAll(async () => {
  load?.kill('SIGKILL');
  tmp.cleanup();
  await core.shutdown();
});

/** Connects to a listening socket on loopback (tcpconnect, tcpconnlat, tcptop, tcpaccept). */
async function loopbackTraffic(): Promise<void> {
  const server = net.createServer((s) => s.resume().on('end', () => s.end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((r) => {
      const c = net.connect(port, '127.0.0.1', () => c.end('x'.repeat(4000)));
      c.resume().on('close', () => r());
    });
  }
  await new Promise((r) => server.close(r));
}

/** A line the lane's record keeps (scripts/stock-kernel/run.mjs reads "stock-kernel:" lines). */
const note = (text: string) => process.stderr.write(`\nstock-kernel: ${STOCK_KERNEL}: ${text}\n`);

/** The note for a tool whose first provider this kernel refused, so another one ran. */
function fellBack(tool: string, view: ExecutionResult): string | undefined {
  const refused = view.refused_variants ?? [];
  if (!refused.length) return undefined;
  const why = (r: (typeof refused)[number]) =>
    /BTF type ID of '(\w+)'/.exec(r.error)?.[1] ?? /prog '(\w+)': failed to load: (-\d+)/.exec(r.error)?.slice(1).join(' ') ?? r.error.split('\n')[0];
  return `bcc ${tool} fell back: ${refused.map((r) => `${r.variant} refused (${why(r)})`).join(', ')}, ${view.variant} ran`;
}

const usesKprobes = (program: string) => /(^|[\s,{}])(kprobe|kretprobe|k|kr):[A-Za-z_*]/m.test(program);

describe(`kprobe-based tools on the stock kernel ${STOCK_KERNEL}`, () => {
  const templates = core.tools.filter((t) => t.kind.name === 'template' && (t.prepared as PreparedTemplate).requires.includes('kprobes'));
  it('there are kprobe templates to check', () => expect(templates.length).toBeGreaterThanOrEqual(2));
  for (const t of templates) {
    it(`template ${t.def.name} runs with its example parameters`, async () => {
      const r = await core.callTool(t.def.name, { ...t.def.examples![0].input, duration: 2, timeout: 120, wait: true });
      const s = r.structured as { status: string; exit_code: number; error_message: string | null; output: string[] };
      expect({ status: s.status, exit: s.exit_code, error: s.error_message }, r.text).toEqual({ status: 'completed', exit: 0, error: null });
      expect(s.output.length, r.text).toBeGreaterThan(0);
    }, 180_000);
  }

  const bccTools = readdirSync(BCC_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(path.join(BCC_DIR, f), 'utf8')) as { tool: string; needs?: string[] })
    .filter((s) => s.needs?.includes('kprobes'));
  it('there are kprobe bcc tools to check', () => expect(bccTools.length).toBeGreaterThanOrEqual(5));
  // Tools that print a row for each event the workload makes; the others print per interval
  // (vfsstat, cachestat) or need an event a test VM cannot make on demand (an OOM kill, disk I/O).
  const mustSee: Record<string, (v: ExecutionResult) => boolean> = {
    vfsstat: (v) => (v.rows ?? []).length > 0,
    cachestat: (v) => (v.rows ?? []).length > 0,
    tcpconnect: (v) => (v.rows ?? []).some((r) => r.daddr === '127.0.0.1'),
    tcpconnlat: (v) => (v.rows ?? []).some((r) => r.daddr === '127.0.0.1'),
    filelife: (v) => (v.rows ?? []).length > 0,
    capable: (v) => (v.rows ?? []).length > 0,
  };
  // The catalog runs the machine's libbpf-tools, built against other kernels: a tool whose BPF
  // program this kernel refuses (a function it attaches to was renamed or removed) must fail
  // with mcptrace's diagnosis naming the function, never a silent empty success. Which tools
  // ran is printed as "stock-kernel:" lines, which the lane's record keeps.
  // biosnoop has its own test below: the kernels of this lane refuse libbpf-tools' build of it.
  for (const spec of bccTools.filter((t) => t.tool !== 'biosnoop')) {
    it(`bcc ${spec.tool} runs${mustSee[spec.tool] ? ' and sees the workload' : ''}, or is refused with a diagnosis`, async () => {
      const puppet = new Puppet();
      try {
        // Six seconds: under software emulation a libbpf tool takes seconds to load and attach.
        const { view } = await traceWhile(core, spec.tool, { duration: 6 }, async () => {
          await loopbackTraffic();
          await puppet.do(`open /etc/hostname`);
        });
        if (view.status === 'failed' && /the kernel refused/.test(view.error_message ?? '')) {
          // A function gone from BTF (6.1's biosnoop), or the verifier refusing a program (6.12's).
          expect(view.error_message).toMatch(/failed to find kernel BTF type ID of '\w+'|prog '\w+': failed to load|Error attaching probe|cannot attach/);
          const why =
            /BTF type ID of '(\w+)'/.exec(view.error_message!)?.[1] ?? /prog '(\w+)': failed to load: (-\d+)/.exec(view.error_message!)?.slice(1).join(' ');
          note(`bcc ${spec.tool} refused: ${why ?? view.error_message!.split('\n')[0]}`);
          return;
        }
        const shown = JSON.stringify({ rows: view.rows?.slice(0, 3), output: view.output.slice(0, 8), stderr: view.stderr.slice(-5) });
        expect({ error: view.error_message, status: view.status }, shown).toEqual({ error: null, status: 'completed' });
        if (mustSee[spec.tool]) expect(mustSee[spec.tool](view), shown).toBe(true);
        note(fellBack(spec.tool, view) ?? `bcc ${spec.tool} ran (${view.variant})`);
      } finally {
        puppet.kill();
      }
    }, 180_000);
  }

  // Debian 12's 6.1 refuses libbpf-tools 0.26's biosnoop (no BTF type for its fentry target,
  // blk_account_io_start), 6.12 refuses it in the verifier: the call must hand over to
  // bpftrace's biosnoop.bt in the same execution. The workload is direct writes to a loop device
  // (the guest's only disks are 9p and tmpfs). biosnoop.bt probes blk_account_io_start/done and
  // their __ forms, which a kernel may inline (measured on 6.1.0-57: none traceable; bpftrace
  // skips them with a warning): then it can see nothing, and the result must say so in its
  // stderr rather than read as a quiet disk.
  it('bcc biosnoop: when this kernel refuses libbpf-tools, the next provider runs in the same execution, and sees block I/O or says why not', async () => {
    const img = `${tmp.dir}/disk.img`;
    writeFileSync(img, Buffer.alloc(8 << 20));
    const dev = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
    try {
      const started = await core.callTool('biosnoop', { duration: 120, timeout: 180 });
      const id = (started.structured as { execution_id?: string }).execution_id;
      if (!id) throw new Error(started.text);
      const exec = core.runner.get(id)!;
      // libbpf-tools print their header once attached; bpftrace says so itself (its
      // "Attaching N probes..." line comes before the attach).
      const ready = () => exec.finished || (exec.variant?.endsWith('.bt') ? exec.attachedAt !== undefined : exec.lines.length > 0);
      expect(await waitFor(ready, 120_000), `biosnoop never attached: ${JSON.stringify(executionView(exec).stderr)}`).toBe(true);
      for (let i = 0; i < 3 && !exec.finished; i++) run(['dd', 'if=/dev/zero', `of=${dev}`, 'bs=4k', 'count=32', 'oflag=direct']);
      await new Promise((r) => setTimeout(r, 1500));
      await core.callTool('stop_execution', { execution_id: id });
      await waitFor(() => exec.finished, 120_000);
      const view = executionView(exec, { limit: 10_000 });
      const shown = JSON.stringify({ variant: view.variant, refused: view.refused_variants, output: view.output.slice(0, 8), stderr: view.stderr.slice(-5) });
      expect({ error: view.error_message, status: view.status }, shown).toEqual({ error: null, status: 'stopped' });
      if (view.refused_variants) {
        expect(view.refused_variants[0]).toMatchObject({ variant: 'biosnoop', exit_code: 1 });
        expect(view.refused_variants[0].error, shown).toMatch(/the kernel refused biosnoop's BPF program|needs kprobes/);
        expect(view.variant).toBe('biosnoop.bt');
        expect(view.warnings[0]).toContain('biosnoop was refused by the kernel as it started');
        expect(core.runner.list().filter((e) => e.id === id)).toHaveLength(1);
      } else expect(view.variant).toBe('biosnoop');
      // A row per I/O on the loop device: libbpf's DISK column, or biosnoop.bt's second field.
      const disk = path.basename(dev);
      const seen = (view.rows ?? []).some((r) => r.DISK === disk) || view.output.some((l) => l.split(/\s+/)[1] === disk);
      const skipped = view.stderr.map((l) => /could not attach probe (kprobe:\w*blk_account_io_\w+)/.exec(l)?.[1]).filter((p): p is string => !!p);
      if (!seen) {
        // Only bpftrace skips probes it cannot attach; libbpf-tools fail instead.
        expect(view.variant, shown).toBe('biosnoop.bt');
        expect(skipped.length, `no block I/O seen, and bpftrace did not say it skipped its block probes: ${shown}`).toBeGreaterThan(0);
      }
      const what = seen ? 'saw the loop device' : `could not attach ${skipped.join(', ')} (not traceable here): no block I/O seen`;
      note(`${fellBack('biosnoop', view) ?? `bcc biosnoop ran (${view.variant})`}; ${view.variant} ${what}`);
    } finally {
      run(['losetup', '-d', dev]);
    }
  }, 300_000);

  /** Runs a program for two seconds through exec_program and stops it (SIGINT: maps print). */
  async function runFor2s(program: string, on = core): Promise<ExecutionResult> {
    const started = await on.callTool('exec_program', { program, timeout: 120 });
    const id = (started.structured as { execution_id?: string }).execution_id;
    if (!id) throw new Error(started.text);
    const exec = on.runner.get(id)!;
    await waitFor(() => exec.attachedAt !== undefined || exec.finished, 60_000);
    await loopbackTraffic();
    await new Promise((r) => setTimeout(r, 2000));
    await on.callTool('stop_execution', { execution_id: id });
    await waitFor(() => exec.finished, 60_000);
    return executionView(exec, { limit: 5000 });
  }

  const library = loadLibrary(EXAMPLES_DIR).examples.filter((e) => e.requires.includes('kprobes'));
  it('there are kprobe examples in the library', () => expect(library.length).toBeGreaterThanOrEqual(3));
  for (const e of library) {
    it(`library example ${e.id} attaches, runs and prints its maps`, async () => {
      const v = await runFor2s(e.program);
      expect({ error: v.error_message, status: v.status }).toEqual({ error: null, status: 'stopped' });
      expect(v.output.length, v.stderr.join('\n')).toBeGreaterThan(0);
    }, 180_000);
  }

  // The .bt tools shipped with the machine's bpftrace are not ours: several probe functions a
  // given kernel renamed, inlined or builds into a module that is not loaded. Each must either
  // run, or fail with mcptrace's diagnosis naming the probe (never a silent success). Which one
  // happened is in the test name the lane's report and README matrix show.
  // Several #include kernel headers, which the standard safety level refuses: they run at the
  // permissive level, as a user who trusts bpftrace's own tools would run them.
  const permissive = new Core({ env: { HOME: '/nonexistent' }, policy: { level: 'permissive' } });
  afterAll(() => permissive.shutdown());
  const machine: Example[] = loadMachineTools(MACHINE_TOOL_DIRS).filter((e) => usesKprobes(e.program));
  it('there are kprobe .bt tools on this machine', () => expect(machine.length).toBeGreaterThanOrEqual(5));
  for (const e of machine) {
    it(`machine tool ${e.id}.bt runs, or fails with a diagnosis`, async () => {
      const v = await runFor2s(e.program, permissive);
      if (v.status === 'stopped') {
        expect(v.error_message).toBeNull();
        note(`${e.id}.bt ran`);
      } else {
        expect(v.status, JSON.stringify({ status: v.status, error: v.error_message, stderr: v.stderr })).toBe('failed');
        expect(v.error_message).toMatch(/probe|function|attach|kprobe|symbol|struct|field/i);
        note(`${e.id}.bt failed: ${v.error_message!.split('\n').find((l) => /ERROR/.test(l)) ?? v.error_message!.split('\n')[0]}`);
      }
    }, 180_000);
  }
});
