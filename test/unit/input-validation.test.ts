import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { fakePreflight } from '../helpers/preflight.js';

// Validation happens before anything runs, so these need no kernel.
const core = new Core({ env: { HOME: '/nonexistent' } });

describe('tool input validation', () => {
  it('applies schema defaults', () => {
    const r = core.tool('exec_program')!.validateInput({ program: 'BEGIN { exit(); }' });
    expect(r).toEqual({ ok: true, value: { program: 'BEGIN { exit(); }', dry_run: false, timeout: 10, wait: false, include_maps: false, unsafe: false } });
  });

  it('names the argument, the bad value and the rule', async () => {
    const r = await core.callTool('count_syscalls', { pid: -3, duration: 'long' });
    expect(r.isError).toBe(true);
    expect(r.errorKind).toBe('input');
    expect(r.text).toBe(
      'Invalid input for count_syscalls:\n' +
        '- invalid value for "pid" (got -3): must be >= 1\n' +
        '- invalid value for "duration" (got "long"): must be integer',
    );
  });

  it('lists the valid arguments for an unknown one', async () => {
    const r = await core.callTool('list_probes', { filtr: 'sched*' });
    expect(r.text).toContain('unknown argument "filtr"; valid arguments: filter, limit, offset');
  });

  it('lists valid values for an enum', async () => {
    const r = await core.callTool('list_executions', { status: 'done' });
    expect(r.text).toContain('invalid value for "status" (got "done"): valid values are "queued", "running", "completed", "failed", "stopped", "timed_out"');
  });

  it('explains a missing required argument', async () => {
    const r = await core.callTool('exec_program', {});
    expect(r.text).toContain('missing required argument "program" (string): The bpftrace program text');
  });

  it('rejects an unknown tool with the list of tools', async () => {
    const r = await core.callTool('run_shell', { cmd: 'id' });
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/^unknown tool "run_shell"; available tools: .*exec_program/);
  });

  it('refuses a timeout above the manifest maximum before running anything', async () => {
    const r = await core.callTool('exec_program', { program: 'BEGIN { exit(); }', timeout: 7200 });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("timeout 7200 s exceeds exec_program's maximum of 3600 s");
    expect(r.errorKind).toBe('input');
  });

  it('a server maximum (serve --max-timeout) replaces the manifest maximum', async () => {
    const raised = new Core({ env: { HOME: '/nonexistent' }, runner: { maxTimeoutSec: 7200 }, preflight: fakePreflight });
    const ok = await raised.callTool('exec_program', { program: 'BEGIN { exit(); }', timeout: 7200, dry_run: true });
    expect(ok.isError).toBeFalsy();
    expect(ok.structured).toHaveProperty('argv');
    const over = await raised.callTool('exec_program', { program: 'BEGIN { exit(); }', timeout: 7201, dry_run: true });
    expect(over.text).toContain("exceeds this server's maximum of 7200 s");
  });
});

describe('input schemas compiled on first use', () => {
  it('a strict-mode error in a user schema is a clear tool error, not a crash', async () => {
    const { mkdtempSync, copyFileSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-lazy-'));
    const file = path.join(dir, 'bad.yaml');
    copyFileSync(path.join(__dirname, '../fixtures/bad-manifests/bad-input-schema.yaml'), file);
    const lazy = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    const r = await lazy.callTool('bad_input_schema', { count: 2 });
    expect(r.isError).toBe(true);
    expect(r.text).toBe(
      `bad_input_schema has an invalid input schema (strict mode: unknown keyword: "minimun"); fix ${file} (check it with: mcptrace tools validate ${file})`,
    );
  });
});

describe('hostile arguments', () => {
  const hostile = new Core({ env: { HOME: '/nonexistent' } });

  it("arguments nested thousands of levels deep are the caller's error, not the manifest's", async () => {
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 5000; i++) deep = (deep.x = {}) as Record<string, unknown>;
    const r = await hostile.callTool('exec_program', { program: 'BEGIN { exit(); }', extra: top });
    expect(r.errorKind).toBe('input');
    expect(r.text).toContain('nest more than 32 levels deep');
    expect(r.text).not.toContain('.yaml');
  });

  it('a huge bad value is not echoed back whole', async () => {
    const r = await hostile.callTool('list_probes', { filter: 'x'.repeat(1_000_000) });
    expect(r.errorKind).toBe('input');
    expect(r.text.length).toBeLessThan(2000);
    expect(r.text).toContain('(1000002 characters)');
  });
});
