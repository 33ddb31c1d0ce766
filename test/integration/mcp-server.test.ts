import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kernelFeatures } from '../../src/runtime/environment.js';
import { BPFTRACE, BPFTRACE_PATH, describeKernel, pidsWith, SLOWDOWN, waitFor } from '../helpers/kernel.js';
import { startServer, textOf, withServer, type TestServer } from '../helpers/mcp.js';

/** What the program printed, without the attach line and the blank lines bpftrace adds at exit. */
const printed = (output: string[]) => output.filter((l) => l !== '' && !/^Attaching \d+ probes?\.\.\.$/.test(l));

const marker = (tag: string) => `m${tag}${process.pid}${Date.now().toString(36)}`;

describeKernel('MCP server over stdio, real bpftrace', () => {
  let s: TestServer;
  let userDir: string;

  beforeAll(async () => {
    userDir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-user-'));
    copyFileSync(path.join(__dirname, '../fixtures/user-tools/hello_user.yaml'), path.join(userDir, 'hello_user.yaml'));
    copyFileSync(path.join(__dirname, '../fixtures/bad-manifests/unknown-key.yaml'), path.join(userDir, 'broken.yaml'));
    // The template tools are a toolset of their own, off by default (test/bcc/toolsets.test.ts).
    s = await startServer(['--tools-dir', userDir, '--toolsets', 'core,templates']);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lists every manifest as a tool with its schema and all four hints', async () => {
    const { tools } = await s.client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'analyze_output',
      'bpf_info',
      'compare_runs',
      'count_syscalls',
      'delete_session',
      'discover_probes',
      'exec_program',
      'explain_result',
      'export_session',
      'generate_program',
      'get_result',
      'hello_user',
      'import_session',
      'list_bcc_tools',
      'list_executions',
      'list_helpers',
      'list_probes',
      'list_sessions',
      'list_templates',
      'plan_trace',
      'render_template',
      'run_session',
      'save_session',
      'search_examples',
      'search_history',
      'stop_execution',
      'trace_block_io_latency',
      'trace_block_io_size',
      'trace_cpu_profile',
      'trace_dns_latency',
      'trace_exec',
      'trace_futex_contention',
      'trace_kernel_calls',
      'trace_kernel_function_latency',
      'trace_lock_contention',
      'trace_malloc_sizes',
      'trace_offcpu',
      'trace_oom_kills',
      'trace_opens',
      'trace_page_faults',
      'trace_process_lifecycle',
      'trace_read_sizes',
      'trace_runqueue_latency',
      'trace_rw_bytes',
      'trace_signals',
      'trace_slow_file_ops',
      'trace_syscall_errors',
      'trace_syscall_latency',
      'trace_tcp_accept',
      'trace_tcp_connect',
      'trace_tcp_life',
      'trace_tcp_retransmit',
      'trace_tracepoint_rate',
      'trace_user_calls',
      'trace_user_function_latency',
      'validate_program',
    ]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(Object.keys(t.annotations ?? {}).sort()).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint', 'title']);
    }
    const exec = tools.find((t) => t.name === 'exec_program')!;
    expect(exec.inputSchema.required).toEqual(['program']);
    expect(exec.outputSchema?.properties).toHaveProperty('lines_total');
  });

  it('runs a dropped-in user manifest and reports the broken one on stderr', async () => {
    const r = await s.call('hello_user', { word: 'kernel' });
    expect(r.structuredContent.status).toBe('completed');
    expect(printed(r.structuredContent.output)).toEqual(['hello kernel']);
    expect(s.stderr()).toMatch(/skipped: .*broken\.yaml:3:1: unknown key "descripton"/);
  });

  it('returns the map of a program stopped by its timeout', async () => {
    const r = await s.call('exec_program', {
      program: 'interval:ms:100 { @ticks = count(); } tracepoint:syscalls:sys_enter_nanosleep { @sleeps[comm] = count(); }',
      timeout: 1.5,
      wait: true,
      include_maps: true,
    });
    const v = r.structuredContent;
    expect(v.status).toBe('timed_out');
    expect(r.isError).toBeFalsy();
    const ticks = v.output.find((l: string) => l.startsWith('@ticks: '));
    expect(ticks, textOf(r)).toBeDefined();
    // Here bpftrace attaches in a fraction of the 1.5 s, so the interval fired several times.
    // Under emulation (the stock-kernel guest) it takes longer than 1.5 s to attach: the stop
    // waits for the attach, and the map comes back with what little it counted (measured: 0).
    if (SLOWDOWN === 1) expect(Number(ticks.split(': ')[1])).toBeGreaterThanOrEqual(5);
    expect(v.maps['@ticks']).toEqual({ type: 'map', value: Number(ticks.split(': ')[1]) });
    expect(v.attached_probes).toBe(2);
    expect(textOf(r)).toContain('timed_out');
  });

  it('reports a syntax error as failed, with its location', async () => {
    const r = await s.call('exec_program', { program: 'BEGIN { printf("hi\\n" }', wait: true });
    expect(r.isError).toBe(true);
    expect(r.structuredContent.status).toBe('failed');
    // The wording changed across versions ("syntax error, unexpected" in 0.17, "syntax: expected" later).
    expect(r.structuredContent.error_message).toMatch(/stdin:1:23-24: ERROR: syntax/);
    expect(r.structuredContent.error_message).toContain('BEGIN { printf("hi\\n" }');
    expect(r.structuredContent.hint).toMatch(/line:column/);
    // bpftrace's RLIMIT_MEMLOCK line is a notice, never an error. This machine's bpftrace prints
    // it on every run; in the stock-kernel guest, where raising the limit succeeds, it prints none.
    expect([...r.structuredContent.stderr, r.structuredContent.error_message].join('\n')).not.toMatch(/RLIMIT_MEMLOCK/);
    if (!process.env.MCPTRACE_STOCK_KERNEL) expect(r.structuredContent.notices.join()).toMatch(/RLIMIT_MEMLOCK.*harmless/);
  });

  // This machine has no kprobes, so any kprobe fails to attach, and the hint says why. A stock
  // kernel (the stock-kernel guest) attaches do_nanosleep: there a function it lacks fails, and
  // the diagnosis must not blame kprobes.
  it('reports a kprobe that cannot attach as failed, saying why on this kernel', async () => {
    const kprobes = kernelFeatures().kprobes;
    const fn = kprobes ? 'mcptrace_no_such_function' : 'do_nanosleep';
    const r = await s.call('exec_program', { program: `kprobe:${fn} { @ = count(); }`, timeout: 60, wait: true });
    expect(r.structuredContent.status, textOf(r)).toBe('failed');
    // 0.17 fails to attach; newer versions find no kprobe function to match at all.
    expect(r.structuredContent.error_message).toMatch(new RegExp(`Error attaching probe: '?kprobe:${fn}|No matches for kprobe ${fn}`));
    if (kprobes) expect(r.structuredContent.hint ?? '').not.toMatch(/no kprobes/);
    else expect(r.structuredContent.hint).toMatch(/no kprobes/);
  });

  it('stop_execution ends the process with SIGINT and returns its final map', async () => {
    const m = marker('stop');
    const started = await s.call('exec_program', { program: `interval:ms:50 { @${m} = count(); }`, timeout: 60 });
    const id = started.structuredContent.execution_id;
    expect(started.structuredContent.status).toMatch(/queued|running/);
    expect(await waitFor(() => pidsWith(m).length > 0, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    const stopped = await s.call('stop_execution', { execution_id: id });
    expect(stopped.structuredContent.status).toBe('stopped');
    expect(stopped.structuredContent.output.some((l: string) => l.startsWith(`@${m}: `))).toBe(true);
    expect(await waitFor(() => pidsWith(m).length === 0, 5_000)).toBe(true);
  });

  it('an MCP cancellation stops the run and leaves no bpftrace behind', async () => {
    const m = marker('cancel');
    const ac = new AbortController();
    const call = s.call('exec_program', { program: `interval:ms:50 { @${m} = count(); }`, timeout: 60, wait: true }, { signal: ac.signal });
    // Cancel once probes are live, so there is a map to lose if the stop were not graceful.
    let row: any;
    for (let i = 0; i < 100 && !row?.phase.startsWith('attached'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = (await s.call('list_executions', {})).structuredContent.executions.find((e: any) => e.command.includes(m));
    }
    expect(row.phase).toMatch(/^attached/);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await expect(call).rejects.toThrow();
    expect(await waitFor(() => pidsWith(m).length === 0, 5_000)).toBe(true);
    // The process is gone; its last output may still be draining through the pipes.
    let after = await s.call('get_result', { execution_id: row.execution_id });
    for (let i = 0; i < 50 && after.structuredContent.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await s.call('get_result', { execution_id: row.execution_id });
    }
    expect(after.structuredContent.status).toBe('stopped');
    expect(after.structuredContent.output.some((l: string) => l.startsWith(`@${m}: `))).toBe(true);
  });

  it('sends progress notifications while a waited run is in flight', async () => {
    const progress: { progress: number; message?: string }[] = [];
    const r = await s.call(
      'exec_program',
      { program: 'interval:ms:200 { printf("tick\\n"); } interval:ms:1500 { exit(); }', wait: true },
      { onprogress: (p) => progress.push(p) },
    );
    expect(r.structuredContent.status).toBe('completed');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)!.message).toMatch(/lines after/);
    for (let i = 1; i < progress.length; i++) expect(progress[i].progress).toBeGreaterThanOrEqual(progress[i - 1].progress);
  });

  it('get_result pages, long-polls, and answers an offset past the end with an empty page', async () => {
    const started = await s.call('exec_program', { program: 'interval:ms:100 { printf("line %d\\n", @n); @n++; if (@n == 8) { exit(); } }' });
    const id = started.structuredContent.execution_id;
    const first = await s.call('get_result', { execution_id: id, offset: 0, wait: 10 });
    expect(first.structuredContent.lines_total).toBeGreaterThan(0);
    const done = await s.call('get_result', { execution_id: id, offset: 0, limit: 3, wait: 10 });
    await waitFor(() => false, 1500);
    // The attach line comes first where the version prints it on stdout.
    const skip = (await s.call('get_result', { execution_id: id, offset: 0, limit: 1 })).structuredContent.output[0].startsWith('Attaching') ? 1 : 0;
    const all = await s.call('get_result', { execution_id: id, offset: skip, limit: 3 });
    expect(all.structuredContent.output).toEqual(['line 0', 'line 1', 'line 2']);
    expect(all.structuredContent.has_more).toBe(true);
    expect(all.structuredContent.next_offset).toBe(skip + 3);
    expect(done.structuredContent.execution_id).toBe(id);
    const past = await s.call('get_result', { execution_id: id, offset: 1000 });
    expect(past.isError).toBeFalsy();
    expect(past.structuredContent.output).toEqual([]);
    expect(past.structuredContent.has_more).toBe(false);
  });

  it('cancelling a get_result long-poll ends the wait, not the run', async () => {
    const started = await s.call('exec_program', { program: 'interval:ms:100 { @x = count(); }', timeout: 30 });
    const id = started.structuredContent.execution_id;
    const ac = new AbortController();
    const poll = s.call('get_result', { execution_id: id, offset: 1000, wait: 30 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await expect(poll).rejects.toThrow();
    const now = await s.call('get_result', { execution_id: id });
    expect(now.structuredContent.status).toBe('running');
    const stopped = await s.call('stop_execution', { execution_id: id });
    expect(stopped.structuredContent.status).toBe('stopped');
  });

  it('an unknown execution id is an actionable error', async () => {
    const r = await s.call('get_result', { execution_id: 'exec-zzzz' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('no execution "exec-zzzz"');
    expect(textOf(r)).toContain('list_executions');
  });

  it('list_probes returns what bpftrace -l returns for the same pattern', async () => {
    for (const pattern of [
      'tracepoint:syscalls:sys_enter_open*',
      '*sleep*',
      'sched*',
      'tracepoint:sched*',
      'syscalls:*open*',
      'sys_enter_read',
      'tracepoint:*:sched_switch',
    ]) {
      const direct = spawnSync(BPFTRACE, ['-l', pattern], { encoding: 'utf8' })
        .stdout.split('\n')
        // bpftrace up to 0.22 echoes the pattern as "hardware:PATTERN:" and "software:PATTERN:".
        .filter((l) => l && !/^(hardware|software):[^:]*\*[^:]*:$/.test(l));
      const r = await s.call('list_probes', { filter: pattern, limit: 10000 });
      expect(r.structuredContent.probes, pattern).toEqual(direct);
    }
  });

  it('list_probes gives the arguments of a single probe', async () => {
    const r = await s.call('list_probes', { filter: 'tracepoint:syscalls:sys_enter_openat' });
    expect(r.structuredContent.detail.args).toContain('const char * filename');
  });

  it('bpf_info parses bpftrace --info and checks the environment', async () => {
    const r = await s.call('bpf_info', {});
    const v = r.structuredContent;
    expect(v.bpftrace_version).toMatch(/^v\d+\.\d+/);
    expect(v.build.version).toBe(v.bpftrace_version);
    // --info lists helpers one per line up to 0.21 and in two columns since: both parse.
    expect(Object.keys(v.helpers).length).toBeGreaterThan(2);
    expect(Object.values(v.helpers).every((x) => x === 'yes' || x === 'no')).toBe(true);
    expect(v.bpftrace_features.version).toBe(v.bpftrace_version);
    const checks = Object.fromEntries(v.environment.map((c: any) => [c.name, c]));
    expect(checks.tracefs.ok).toBe(true);
    expect(checks.privileges.detail).toBe('running as root');
    expect(checks.kprobes).toBeDefined();
  });

  it('count_syscalls renders its template and ends after its duration', async () => {
    // The deadline is generous: under emulation bpftrace takes seconds to start, and the safety
    // timeout is not what is checked here.
    const r = await s.call('count_syscalls', { duration: 1, timeout: 120, include_maps: true });
    expect(r.structuredContent.status).toBe('completed');
    expect(Object.keys(r.structuredContent.maps)).toEqual(expect.arrayContaining(['@syscalls_by_process', '@syscalls_by_name']));
  });
});

describeKernel('environment problems', () => {
  it('a missing bpftrace is a diagnosis with the install command, and the server stays up', async () => {
    await withServer({ env: { MCPTRACE_BPFTRACE: '', PATH: '/nonexistent' } }, async (s) => {
      const r = await s.call('exec_program', { program: 'BEGIN { exit(); }', wait: true });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain('bpftrace is not installed');
      expect(textOf(r)).toContain('apt-get install -y bpftrace');
    });
    await withServer({ env: { MCPTRACE_BPFTRACE: '/nonexistent/bpftrace' } }, async (s) => {
      const r = await s.call('exec_program', { program: 'BEGIN { exit(); }', wait: true });
      expect(textOf(r)).toContain('MCPTRACE_BPFTRACE is set to /nonexistent/bpftrace, and there is no file there');
      const again = await s.call('list_executions', {});
      expect(again.isError).toBeFalsy();
    });
  });
});

describeKernel('tracefs missing', () => {
  it('says tracefs is not mounted and gives the mount command', async () => {
    await withServer({ env: { MCPTRACE_TRACEFS: '/nonexistent/tracing' } }, async (s) => {
      const r = await s.call('exec_program', { program: 'BEGIN { exit(); }', wait: true });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toBe(
        'tracefs is not mounted at /nonexistent/tracing, so tracepoints cannot be found or attached. Mount it: sudo mount -t tracefs nodev /nonexistent/tracing (or start the server as root with --mount-tracefs, or MCPTRACE_MOUNT_TRACEFS=1, to let it mount tracefs itself)',
      );
    });
  });
});

describeKernel('tracefs auto-mount', () => {
  it('as root with --mount-tracefs, mounts a missing tracefs itself and runs', async () => {
    // A second tracefs mount at a scratch path: the real one stays untouched for other tests.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-tracefs-'));
    try {
      await withServer({ args: ['--mount-tracefs'], env: { MCPTRACE_TRACEFS: dir } }, async (s) => {
        const r = await s.call('exec_program', { program: 'BEGIN { printf("mounted\\n"); exit(); }', wait: true });
        expect(printed(r.structuredContent.output)).toEqual(['mounted']);
        expect(readFileSync('/proc/self/mounts', 'utf8')).toContain(` ${dir} tracefs `);
      });
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});

describeKernel('without privileges', () => {
  it('as an unprivileged user, says bpftrace needs privileges and how to set up the helper', async () => {
    // nobody, with no sudo rights: the server must explain, not crash or claim tracefs is missing.
    await withServer({ env: { HOME: '/tmp', USER: 'nobody' }, wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] }, async (s) => {
      const r = await s.call('exec_program', { program: 'BEGIN { exit(); }', wait: true });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/^bpftrace needs privileges: not root, /);
      expect(textOf(r)).toContain('sudo mcptrace setup privileges --user nobody --apply');
      // Never the old advice: a sudoers rule for bpftrace itself makes the user root.
      expect(textOf(r)).not.toContain(`NOPASSWD: ${BPFTRACE_PATH}`);
      const info = await s.call('bpf_info', {});
      const checks = Object.fromEntries(info.structuredContent.environment.map((c: any) => [c.name, c]));
      expect(checks.tracefs.ok).toBe(true);
      expect(checks.privileges.ok).toBe(false);
    });
  });
});

describeKernel('server death', () => {
  it('killing the server with SIGKILL leaves no bpftrace process', async () => {
    const s = await startServer();
    const m = marker('kill');
    await s.call('exec_program', { program: `interval:ms:100 { @${m} = count(); }`, timeout: 120 });
    expect(await waitFor(() => pidsWith(m).length > 0, 10_000)).toBe(true);
    process.kill(s.transport.pid!, 'SIGKILL');
    expect(await waitFor(() => pidsWith(m).length === 0, 5_000)).toBe(true);
  });
});
