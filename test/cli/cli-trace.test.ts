import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { collapseStacks, paddedFrameLines } from '../helpers/folded.js';
import { BPFTRACE, describeKernel, pidsWith, waitFor } from '../helpers/kernel.js';

const marker = (tag: string) => `c${tag}${process.pid}${Date.now().toString(36)}`;

describeKernel('CLI with real bpftrace', () => {
  it('a manifest dropped into a tools dir becomes a command', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-cli-tools-'));
    copyFileSync(path.join(__dirname, '../fixtures/user-tools/hello_user.yaml'), path.join(dir, 'hello_user.yaml'));
    const help = runCli(['hello', '--help', '--tools-dir', dir]);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toMatch(/--word=string\s+\[default: world\] Word to greet\./);
    const r = runCli(['hello', '--word', 'cli', '--tools-dir', dir]);
    expect(await r.exited).toBe(0);
    const direct = execFileSync(BPFTRACE, ['-e', 'BEGIN { printf("hello %s\\n", str($1)); exit(); }', 'cli'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(r.stdout()).toBe(direct);
    expect(r.stdout()).toContain('hello cli\n');
  });

  it('SIGINT to the CLI stops the trace gracefully and still prints the map', async () => {
    const m = marker('int');
    const r = runCli(['exec', `interval:ms:50 { @${m} = count(); } interval:ms:200 { printf("tick\\n"); }`, '--timeout', '60']);
    // The first printed line proves the probes are attached.
    expect(await waitFor(() => r.stdout().includes('tick'), 15_000)).toBe(true);
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toMatch(new RegExp(`^@${m}: \\d+$`, 'm'));
    expect(r.stderr()).toContain('stopped');
    expect(pidsWith(m)).toEqual([]);
  });

  it('on a TTY: live output and a spinner line on stderr', async () => {
    const r = runCli(['exec', 'interval:ms:200 { printf("tick %d\\n", @n++); }', '--timeout', '60'], { tty: true });
    // Live: a line shows while the trace is still running (it only ends when we interrupt it).
    expect(await waitFor(() => r.stdout().includes('tick 0'), 15_000)).toBe(true);
    expect(await waitFor(() => /running \d+\.\d+s\s+\d+ lines/.test(r.stdout()), 5_000)).toBe(true);
    r.child.stdin!.write('\x03'); // Ctrl-C through the terminal
    await r.exited;
    expect(r.stdout()).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] running/);
    expect(r.stdout()).toContain('stopping: SIGINT sent to the tracer');
  });

  it('a second Ctrl-C kills the trace and exits 130', async () => {
    // 30 tracepoints take about 2 s to detach after the first Ctrl-C: time for the second.
    const m = marker('twice');
    const r = runCli(['exec', `tracepoint:syscalls:sys_enter_g* { @${m}[probe] = count(); } interval:ms:200 { printf("tick\\n"); }`, '--timeout', '60'], {
      tty: true,
    });
    expect(await waitFor(() => r.stdout().includes('tick'), 30_000)).toBe(true);
    r.child.stdin!.write('\x03');
    expect(await waitFor(() => r.stdout().includes('stopping: SIGINT sent'), 5_000)).toBe(true);
    r.child.stdin!.write('\x03');
    expect(await r.exited).toBe(130);
    expect(r.stdout()).toContain('killed');
    expect(await waitFor(() => pidsWith(m).length === 0, 30_000)).toBe(true);
  });

  it('Ctrl-C at a terminal reaches only mcptrace, so the map prints whole', async () => {
    const m = marker('tty');
    const r = runCli(['exec', `interval:ms:10 { @${m}[rand % 500] = count(); } interval:ms:200 { printf("tick\\n"); }`, '--timeout', '60'], { tty: true });
    expect(await waitFor(() => r.stdout().includes('tick'), 15_000)).toBe(true);
    // The terminal signals its foreground process group; the tracer must lead a group of its own.
    const [tracer] = pidsWith(m).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'bpftrace');
    const pgrp = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
    expect(pgrp(tracer)).toBe(tracer);
    expect(pgrp(tracer)).not.toBe(pgrp(r.child.pid!));
    await new Promise((res) => setTimeout(res, 1000));
    r.child.stdin!.write('\x03');
    expect(await r.exited).toBe(0);
    // Every key printed: the table has one row per key of the map, and it ends the output.
    const rows = r
      .stdout()
      .split(/\r?\n/)
      .filter((l) => l.startsWith(`@${m}[`));
    expect(rows.length).toBeGreaterThan(50);
    expect(r.stdout()).toContain('stopped');
  });

  it("piped: exactly bpftrace's own output, with no spinner or escape codes", async () => {
    // 64-bit values: bpftrace 0.27 prints maps of narrower integers unsorted, in hash order.
    const program =
      'interval:ms:100 { printf("tick %d\\n", @n++); if (@n == 5) { exit(); } } END { @h = hist(@n); @m[1, "a"] = (int64)2; @m[3, "b"] = (int64)1; }';
    const r = runCli(['exec', program]);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toBe(execFileSync(BPFTRACE, ['-e', program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect(r.stdout()).toContain('tick 4\n');
    expect(r.stderr()).not.toMatch(/\x1b|⠋|running \d/);
  });

  it("a kernel stack profile collapses into folded stacks, as stackcollapse-bpftrace.pl reads bpftrace's output", async () => {
    const r = runCli(['exec', 'profile:hz:99 { @[kstack] = count(); }', '--timeout', '1.5']);
    expect(await r.exited).toBe(124);
    const folded = collapseStacks(r.stdout());
    expect(folded.size).toBeGreaterThan(0);
    expect(paddedFrameLines(r.stdout())).toEqual([]);
    for (const [stack, n] of folded) {
      expect(stack).not.toMatch(/^;|;;|;$|\s$/);
      expect(n).toBeGreaterThan(0);
    }
    // Every key bpftrace printed became a stack: the counts add up to the samples it printed.
    const printed = [...r.stdout().matchAll(/^\]: (\d+)$/gm)].reduce((t, m) => t + Number(m[1]), 0);
    expect([...folded.values()].reduce((a, b) => a + b, 0)).toBe(printed);
  });

  it('--table shows maps as aligned tables for eyes, and only then', async () => {
    const program = 'BEGIN { @bytes["a"] = 5; @bytes["longer-key"] = 100; exit(); }';
    const r = runCli(['exec', program, '--table']);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toMatch(/^@bytes\[a\]\s{2,}5$/m);
    expect(r.stdout()).toMatch(/^@bytes\[longer-key\]\s+100$/m);
  });

  it('exit codes distinguish a failed trace, a timeout and bad input', async () => {
    const failed = runCli(['exec', 'BEGIN { printf("x" }']);
    expect(await failed.exited).toBe(4);
    expect(failed.stderr()).toContain('stdin:1:');
    // BEGIN fills the map at once: under load the 0.5 s can end before the first tick, and
    // bpftrace from 0.25 prints no empty map (CI's 0.27 lane once got only blank lines).
    const timeout = runCli(['exec', 'BEGIN { @x = count(); } interval:ms:100 { @x = count(); }', '--timeout', '0.5']);
    expect(await timeout.exited).toBe(124);
    expect(timeout.stdout()).toMatch(/^@x: \d+$/m);
    const bad = runCli(['syscalls', '--pid', '-1']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('invalid value for "pid" (got -1): must be >= 1');
    expect(bad.stderr()).not.toMatch(/\n\s+at /);
  });

  it('--json prints the MCP structured result', async () => {
    const r = runCli(['exec', 'BEGIN { printf("hi\\n"); exit(); }', '--json']);
    expect(await r.exited).toBe(0);
    const v = JSON.parse(r.stdout());
    expect(v).toMatchObject({ tool: 'exec_program', status: 'completed' });
    expect(v.output).toContain('hi');
    expect(v.lines_total).toBe(v.output.length);
  });
});
