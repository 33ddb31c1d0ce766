import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { BPFTRACE, describeKernel, kernel } from '../helpers/kernel.js';

// validate_program's fixed_program: a mechanical fix for a common mistake, which bpftrace has
// compiled on the version under test (every lane: 0.17, 0.23, 0.27), and which keeps the
// program's probes and intent. Each case names what the fix must contain.
interface Case {
  name: string;
  program: string;
  fixed: RegExp;
  /** Lanes (minor versions) where the program is an error at all; every lane when absent. */
  minors?: number[];
}
const CASES: Case[] = [
  {
    name: 'assignment for comparison in a predicate',
    program: 'tracepoint:syscalls:sys_enter_openat /comm = "cat"/ { @[comm] = count(); }',
    fixed: /\/comm == "cat"\//,
  },
  {
    name: 'assignment in an if condition',
    program: 'tracepoint:syscalls:sys_enter_read { $n = args->count; if ($n = 4096) { @pages = count(); } }',
    fixed: /if \(\$n == 4096\)/,
  },
  {
    name: 'char pointer compared with a string',
    program: 'tracepoint:syscalls:sys_enter_openat /args->filename == "/etc/passwd"/ { @[comm] = count(); }',
    fixed: /str\(args->filename\) == "\/etc\/passwd"/,
  },
  {
    name: 'a string on the left',
    program: 'tracepoint:syscalls:sys_enter_unlinkat /"/tmp/x" != args->pathname/ { @ = count(); }',
    fixed: /!= str\(args->pathname\)/,
  },
  { name: 'a tracepoint typo', program: 'tracepoint:syscalls:sys_enter_opnat { @[comm] = count(); }', fixed: /^tracepoint:syscalls:sys_enter_openat \{/ },
  { name: 'a field typo', program: 'tracepoint:syscalls:sys_enter_openat { @[str(args->filenme)] = count(); }', fixed: /str\(args->filename\)/ },
  {
    name: "DTrace's syscall provider and execname",
    program: 'syscall::openat:entry /execname == "cat"/ { @[execname] = count(); }',
    fixed: /^tracepoint:syscalls:sys_enter_openat \/comm == "cat"\/ \{ @\[comm\] = count\(\); \}$/,
  },
  {
    name: "DTrace's self->, timestamp and quantize",
    program:
      'tracepoint:syscalls:sys_enter_read { self->ts = timestamp; }\ntracepoint:syscalls:sys_exit_read /self->ts/ { @ns = quantize(timestamp - self->ts); self->ts = 0; }',
    fixed: /@ts\[tid\] = nsecs;[\s\S]*@ns = hist\(nsecs - @ts\[tid\]\)/,
  },
  {
    name: "DTrace's profile-N and tick-Ns",
    program: 'profile-99 { @[kstack] = count(); }\ntick-1s { exit(); }',
    fixed: /^profile:hz:99 \{[\s\S]*\ninterval:s:1 \{ exit\(\); \}$/,
  },
  {
    name: "SystemTap's probe syntax and functions",
    program: 'probe syscall.openat { printf("%s %d\\n", execname(), pid()); }',
    fixed: /^tracepoint:syscalls:sys_enter_openat \{ printf\("%s %d\\n", comm, pid\); \}$/,
  },
  {
    name: "SystemTap's timer and begin",
    program: 'probe begin { printf("start\\n"); }\nprobe timer.s(1) { exit(); }',
    fixed: /^BEGIN \{[\s\S]*\ninterval:s:1 \{ exit\(\); \}$/,
  },
  {
    name: "bcc's helpers",
    program: 'tracepoint:syscalls:sys_enter_write /bpf_get_current_pid_tgid() >> 32 == 1/ { @[bpf_get_smp_processor_id()] = count(); }',
    fixed: /\/pid == 1\/ \{ @\[cpu\] = count\(\); \}/,
  },
  { name: 'a misspelt function', program: 'tracepoint:syscalls:sys_enter_openat { prinf("%s\\n", comm); }', fixed: /\{ printf\("%s\\n", comm\); \}/ },
  {
    name: 'args.field on a version without it',
    program: 'tracepoint:syscalls:sys_enter_openat { @[str(args.filename)] = count(); }',
    fixed: /str\(args->filename\)/,
    minors: [17, 18, 19, 20],
  },
  { name: 'lowercase begin on a version without it', program: 'begin { printf("hi\\n"); exit(); }', fixed: /^BEGIN \{/, minors: [17, 18, 19, 20, 21, 22, 23] },
];

const minor = kernel.ok ? Number(/\d+\.(\d+)/.exec(execFileSync(BPFTRACE, ['--version'], { encoding: 'utf8' }))?.[1] ?? 0) : 0;
const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(() => core.shutdown());

describeKernel(`validate_program offers a fixed program that compiles on bpftrace 0.${minor}`, () => {
  const cases = CASES.filter((c) => !c.minors || c.minors.includes(minor));
  it(`${cases.length} mistakes, each with a fix bpftrace accepts`, async () => {
    const misses: string[] = [];
    for (const c of cases) {
      const v = (await core.callTool('validate_program', { program: c.program })).structured as any;
      const fixed = v.fixed_program?.program as string | undefined;
      if (v.valid) misses.push(`${c.name}: bpftrace 0.${minor} accepts it as it is`);
      else if (!fixed) misses.push(`${c.name}: no fixed_program; errors: ${JSON.stringify(v.errors.map((e: any) => e.message))}`);
      else if (!c.fixed.test(fixed)) misses.push(`${c.name}: the fix lost the intent:\n${fixed}`);
      else {
        // The fix compiles (validate_program checked it) and its change is in the diagnosis.
        const again = (await core.callTool('validate_program', { program: fixed })).structured as any;
        if (!again.valid) misses.push(`${c.name}: the fixed program does not validate: ${JSON.stringify(again.errors)}`);
        const named = v.fixed_program.changes.some((ch: any) => v.errors.some((e: any) => (e.suggestion ?? '').includes(ch.now)));
        if (!named) misses.push(`${c.name}: the diagnosis does not name the fix`);
      }
    }
    expect(misses).toEqual([]);
  }, 300_000);
});
