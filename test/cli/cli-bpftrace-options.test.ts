import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { describeKernel, pidsWith, waitFor } from '../helpers/kernel.js';

// bpftrace's own options, as a bpftrace user types them (issue: a CLI bpftrace users switch to).
const marker = (tag: string) => `o${tag}${process.pid}${Date.now().toString(36)}`;

describeKernel('exec takes bpftrace options', () => {
  it('-c runs a command under the trace; its output stays out of stdout, and cpid is its pid', async () => {
    const r = runCli([
      'exec',
      '-c',
      '/usr/bin/echo hello from the command',
      'tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ { printf("child exited %d\\n", args->error_code); }',
    ]);
    expect(await r.exited).toBe(0);
    // The attach line is on stdout up to 0.23 ("Attaching 1 probe..."), on stderr since 0.24.
    expect(r.stdout()).toMatch(/^(Attaching 1 probe\.\.\.\n)?child exited 0\n/);
    expect(r.stdout()).not.toContain('hello from the command');
    expect(r.stderr()).toContain('hello from the command\n');
    // bpftrace's own blank lines at exit are not the command's output.
    expect(r.stderr()).not.toContain('hello from the command\n\n');
  });

  it('-c refuses what bpftrace would mangle or not find, before anything runs', async () => {
    const missing = runCli(['exec', '-c', 'no-such-command-here x', 'BEGIN { exit(); }']);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('command "no-such-command-here" was not found in PATH');
  });

  it('-p PID attaches to a running process; a pid that is not running is an error before anything runs', async () => {
    const sleeper = runCli(['exec', '-p', '3999999', 'BEGIN { exit(); }']);
    expect(await sleeper.exited).toBe(2);
    expect(sleeper.stderr()).toContain('no process with pid 3999999 is running');
    // The pid again as $1: a flag value equal to a later argument once confused the parser.
    const r = runCli(['exec', '-p', String(process.pid), 'BEGIN { printf("pid %d ok\\n", $1); exit(); }', String(process.pid)]);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toContain(`pid ${process.pid} ok\n`);
  });

  it('positional parameters follow the program; one that looks like an option stays a parameter', async () => {
    // (bpftrace 0.27 refuses a parameter that starts with "--" as an unknown program option.)
    const r = runCli(['exec', 'BEGIN { printf("%s|%s|%d|%d\\n", str($1), str($2), $3 + 1, $#); exit(); }', '--', '-c', '-p', '41']);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toContain('-c|-p|42|3\n');
  });

  it('reads the program from a file, as bpftrace FILE does, and from stdin with -', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-prog-'));
    const file = path.join(dir, 'hello.bt');
    writeFileSync(file, '#!/usr/bin/env bpftrace\nBEGIN { printf("from a file %s\\n", str($1)); exit(); }\n');
    const fromFile = runCli(['exec', file, 'arg']);
    expect(await fromFile.exited).toBe(0);
    expect(fromFile.stdout()).toContain('from a file arg\n');

    const fromStdin = runCli(['exec', '-']);
    fromStdin.child.stdin!.end('BEGIN { printf("from stdin\\n"); exit(); }\n');
    expect(await fromStdin.exited).toBe(0);
    expect(fromStdin.stdout()).toContain('from stdin\n');

    const missing = runCli(['exec', path.join(dir, 'nope.bt')]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('no such file');
  });

  it('without --timeout a trace has no deadline and runs until Ctrl-C, maps included', async () => {
    const m = marker('nodl');
    const r = runCli(['exec', `interval:ms:100 { @${m} = count(); }`]);
    // Past the 10 s default deadline that MCP calls get.
    await new Promise((res) => setTimeout(res, 11_000));
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    const count = Number(new RegExp(`^@${m}: (\\d+)$`, 'm').exec(r.stdout())?.[1]);
    expect(count).toBeGreaterThan(30);
    expect(r.stderr()).toContain('stopped');
    expect(pidsWith(m)).toEqual([]);
  }, 30_000);

  it('streams every line to stdout past the run caps, and says nothing of dropped lines', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-capped-'));
    // A dropped-in tool with a 10-line cap; its program prints 60 lines.
    writeFileSync(
      path.join(dir, 'sixty.yaml'),
      [
        'name: sixty_lines',
        'title: Sixty lines',
        'description: Prints sixty numbered lines, more than its own output cap of ten.',
        'kind: bpftrace',
        'annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }',
        'input:',
        '  type: object',
        '  additionalProperties: false',
        '  properties:',
        '    timeout: { $ref: common.json#/$defs/timeout }',
        '    wait: { $ref: common.json#/$defs/wait }',
        'limits: { output: { max_lines: 10 } }',
        'run:',
        '  program: \'BEGIN { $i = 0; unroll(60) { printf("line %d\\n", $i); $i++; } exit(); }\'',
        '',
      ].join('\n'),
    );
    const r = runCli(['sixty-lines', '--tools-dir', dir]);
    expect(await r.exited).toBe(0);
    const lines = r
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('line '));
    expect(lines).toHaveLength(60);
    expect(lines[59]).toBe('line 59');
    expect(r.stderr()).not.toContain('dropped');
  });

  it('| head: a reader that goes away stops the trace cleanly, exit 141 as for SIGPIPE, and no error', async () => {
    const m = marker('pipe');
    const r = runCli(['exec', `profile:hz:99 { printf("${m} %d\\n", cpu); }`]);
    expect(await waitFor(() => r.stdout().split('\n').length > 3, 15_000)).toBe(true);
    r.child.stdout!.destroy();
    r.child.stderr!.destroy();
    expect(await r.exited).toBe(141);
    await waitFor(() => pidsWith(m).length === 0, 5000);
    expect(pidsWith(m)).toEqual([]);
  });

  it('refuses a flag that means nothing in the chosen output mode, with the reason', async () => {
    const r = runCli(['exec', '--include-maps', 'BEGIN { exit(); }']);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('--include-maps adds every map as typed JSON');
    const both = runCli(['exec', '--table', '--json', 'BEGIN { exit(); }']);
    expect(await both.exited).toBe(2);
    expect(both.stderr()).toContain('use one of them');
  });

  it('--unsafe runs only where the safety policy allows it (permissive), and is refused with the rule otherwise', async () => {
    const refused = runCli(['exec', '--unsafe', 'BEGIN { system("echo from system"); exit(); }']);
    expect(await refused.exited).toBe(5);
    expect(refused.stderr()).toContain('refused by policy rule "unsafe-flag"');
    const allowed = runCli(['exec', '--unsafe', 'BEGIN { system("echo from system"); exit(); }'], { env: { MCPTRACE_SAFETY_LEVEL: 'permissive' } });
    expect(await allowed.exited).toBe(0);
    expect(allowed.stdout()).toContain('from system\n');
  });
});
