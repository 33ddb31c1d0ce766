import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flagsFromSchema } from '../../src/cli/schema-flags.js';
import { resolveBccCommand, type BccSpec } from '../../src/kinds/bcc/bcc-spec.js';
import { parseServeArgv } from '../../src/mcp/serve-options.js';
import { diagnoseFailure } from '../../src/runtime/bpftrace/diagnose.js';
import { needsLiveListing, probeMatcher } from '../../src/runtime/probe-cache.js';

describe('probe glob matching (bpftrace -l semantics)', () => {
  const probes = [
    'tracepoint:syscalls:sys_enter_openat',
    'tracepoint:syscalls:sys_exit_openat',
    'tracepoint:sched:sched_switch',
    'kprobe:vfs_read',
    'software:cpu-clock:',
  ];
  const match = (p: string) => probes.filter(probeMatcher(p));
  it('matches the type, then target:function with * spanning colons', () => {
    expect(match('tracepoint:syscalls:sys_enter_open*')).toEqual(['tracepoint:syscalls:sys_enter_openat']);
    expect(match('tracepoint:*openat')).toEqual(['tracepoint:syscalls:sys_enter_openat', 'tracepoint:syscalls:sys_exit_openat']);
    expect(match('t:sched:*')).toEqual(['tracepoint:sched:sched_switch']);
    expect(match('*sched*')).toEqual(['tracepoint:sched:sched_switch']);
    expect(match('k:vfs_*')).toEqual(['kprobe:vfs_read']);
    expect(match('tracepoint:syscalls.sys_enter_openat')).toEqual([]);
  });
  it('sends uprobe and usdt patterns to a live listing', () => {
    expect(needsLiveListing('uprobe:/bin/bash:*')).toBe(true);
    expect(needsLiveListing('U:/usr/lib/libc.so.6:*')).toBe(true);
    expect(needsLiveListing('tracepoint:*')).toBe(false);
  });
});

describe('failure diagnosis', () => {
  const noKprobes = { kprobes: false, kfunc: false };
  it('keeps the located error with its source line and marker, never the memlock notice', () => {
    const d = diagnoseFailure(
      [
        'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem',
        'stdin:1:14-15: ERROR: syntax error, unexpected ;',
        'BEGIN { @x = ; }',
        '             ~',
      ],
      noKprobes,
    );
    expect(d.error).toBe('stdin:1:14-15: ERROR: syntax error, unexpected ;\nBEGIN { @x = ; }\n             ~');
    expect(d.hint).toMatch(/line:column/);
  });
  it('explains a kprobe that cannot attach on a kernel without kprobes', () => {
    const d = diagnoseFailure(["ERROR: Error attaching probe: 'kprobe:vfs_read'"], noKprobes);
    expect(d.hint).toContain('no kprobes');
    expect(d.hint).toContain('tracepoint');
  });
  it('keeps a FATAL line (an abort) as the error', () => {
    const d = diagnoseFailure(['FATAL: Invalid probe type made it to attachpoint parser'], noKprobes);
    expect(d.error).toContain('FATAL: Invalid probe type');
  });
  it("keeps clang's error for a bad #include", () => {
    const d = diagnoseFailure(
      ["ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.", "definitions.h:2:10: fatal error: '/nonexistent.h' file not found"],
      noKprobes,
    );
    expect(d.error).toBe("definitions.h:2:10: fatal error: '/nonexistent.h' file not found");
  });

  it('points permission failures at root or sudo', () => {
    expect(diagnoseFailure(['ERROR: Operation not permitted'], noKprobes).hint).toMatch(/root/);
  });
});

describe('bcc command resolution', () => {
  afterEach(() => {
    delete process.env.MCPTRACE_BCC_ALLOW_DIRS;
  });
  const spec: BccSpec = {
    tool: 'fakesnoop',
    variants: [
      { command: 'fakesnoop-libbpf-not-installed', fixed_args: ['-T'], args: [{ input: 'name', option: '--name' }] },
      {
        command: 'fakesnoop-here',
        fixed_args: ['-T'],
        args: [
          { input: 'name', option: '--name' },
          { input: 'failed', flag: '-x' },
        ],
      },
      { bpftrace_script: 'fakesnoop.bt' },
    ],
  };
  function onPath(...names: string[]): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-bin-'));
    for (const n of names) {
      writeFileSync(path.join(dir, n), '#!/bin/sh\n');
      chmodSync(path.join(dir, n), 0o755);
    }
    // A spec's command is looked for in the tool directories, and in the ones the operator allows.
    process.env.MCPTRACE_BCC_ALLOW_DIRS = dir;
    return dir;
  }
  it('picks the first installed provider and maps inputs to its flags', () => {
    const dir = onPath('fakesnoop-here', 'fakesnoop.bt');
    const r = resolveBccCommand(spec, { name: 'bash', failed: true, timeout: 5 }, new Set(['timeout']));
    expect(r).toEqual({
      argv: [path.join(dir, 'fakesnoop-here'), '-T', '--name', 'bash', '-x'],
      viaBpftrace: false,
      lineBuffered: true,
      variant: 'fakesnoop-here',
      endsItself: false,
    });
  });
  it('falls back to the bpftrace port, and refuses an option it cannot honour', () => {
    const dir = onPath('fakesnoop.bt');
    expect(resolveBccCommand(spec, {}, new Set())).toMatchObject({ argv: [path.join(dir, 'fakesnoop.bt')], viaBpftrace: true });
    expect(() => resolveBccCommand(spec, { name: 'bash' }, new Set())).toThrow(
      /fakesnoop.bt \(the installed variant of fakesnoop\) does not support the "name" option/,
    );
  });
  it('names every provider it tried when none is installed', () => {
    onPath();
    expect(() => resolveBccCommand(spec, {}, new Set())).toThrow(
      'fakesnoop is not installed: looked for fakesnoop-libbpf-not-installed (package libbpf-tools), fakesnoop-here (package libbpf-tools), fakesnoop.bt (package bpftrace). Install one with: apt-get install -y libbpf-tools or bpftrace',
    );
  });
});

describe('flags from a JSON schema', () => {
  it('required strings become arguments, the rest typed flags with bounds in help', () => {
    const f = flagsFromSchema(
      {
        type: 'object',
        required: ['program'],
        properties: {
          program: { type: 'string', description: 'the program' },
          pid: { type: 'integer', minimum: 1, maximum: 4194304 },
          include_maps: { type: 'boolean', default: false },
          mode: { type: 'string', enum: ['a', 'b'] },
          wait: { type: 'boolean' },
        },
      },
      new Set(['wait']),
    );
    expect(f.argNames).toEqual(['program']);
    expect(f.flagNames).toEqual({ pid: 'pid', 'include-maps': 'include_maps', mode: 'mode' });
    expect(f.flags.pid.helpValue).toBe('integer 1..4194304');
    expect(f.flags.mode.helpValue).toBe('a|b');
    expect(f.flags.wait).toBeUndefined();
  });
});

describe('serve options', () => {
  it('validates integers and names the valid options', () => {
    expect(parseServeArgv(['--concurrency', '0'])).toEqual({ error: '--concurrency must be an integer from 1 to 64, got "0"' });
    const unknown = parseServeArgv(['--concurency', '2']);
    expect('error' in unknown && unknown.error).toMatch(
      /Valid options: --tools-dir, --concurrency, --max-queued, --grace-ms, --max-timeout, --max-output-lines, --max-output-bytes, --mount-tracefs/,
    );
    expect(parseServeArgv(['--tools-dir', 'a', '--tools-dir', 'b', '--grace-ms', '500'])).toEqual({ values: { 'tools-dir': ['a', 'b'], 'grace-ms': 500 } });
  });
});
