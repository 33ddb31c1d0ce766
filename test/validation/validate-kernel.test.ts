import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { loadPolicy, Policy, type PolicyRule } from '../../src/policy/policy.js';
import { describeKernel, kernel } from '../helpers/kernel.js';
import { runCli } from '../helpers/cli.js';
import { startServer, textOf, type TestServer } from '../helpers/mcp.js';
// @ts-expect-error: a plain ESM script, shared with `npm run eval:validate`
import { evaluate, report } from '../../scripts/eval-validate.mjs';

interface Figures {
  version: string;
  broken: { cases: number; rejected: number; category_accuracy: number; hint_rate: number } | null;
  valid: { cases: number; false_rejections: number } | null;
  safety: { cases: number; verdict_accuracy: number } | null;
  misses: unknown[];
}

const versionOf = async (core: Core) => (await core.preflight()).features.version.replace(/^v/, '').split('.').slice(0, 2).join('.');

// Thresholds. False rejections must be 0: a valid program refused costs a user more than a
// broken one let through (bpftrace still rejects that). Category and hint: measured 98-100% on
// each version (docs/notes/ISSUE-13.md); 95% leaves room for one case whose message a new
// bpftrace words differently, which must then be looked at, not silently absorbed.
const MIN_CATEGORY = 0.95;
const MIN_HINT = 0.95;

describeKernel('validate_program against the corpus, on the bpftrace under test', () => {
  it('categories, hints, no false rejections, safety verdicts', { timeout: 600_000 }, async () => {
    const core = new Core({ policy: { level: 'standard' } });
    const r: Figures = await evaluate(core, { version: await versionOf(core) });
    process.stderr.write(`${report(r)}\n`);
    expect(r.broken!.cases).toBeGreaterThanOrEqual(40);
    expect(r.broken!.rejected).toBe(r.broken!.cases);
    expect(r.broken!.category_accuracy).toBeGreaterThanOrEqual(MIN_CATEGORY);
    expect(r.broken!.hint_rate).toBeGreaterThanOrEqual(MIN_HINT);
    expect(r.valid!.cases).toBeGreaterThanOrEqual(50);
    expect(r.valid!.false_rejections).toBe(0);
    expect(r.safety!.verdict_accuracy).toBe(1);
    await core.shutdown();
  });
});

// The other supported versions, through the Debian roots (scripts/setup-bpftrace-roots.sh).
// CI has them, so there a missing root fails; elsewhere its absence is announced.
const LANES = [
  ['0.23', '/srv/mcptrace-roots/bin/bpftrace-trixie'],
  ['0.27', '/srv/mcptrace-roots/bin/bpftrace-sid'],
] as const;

for (const [version, bin] of LANES) {
  const present = existsSync(bin);
  if (!present && process.env.CI === 'true') throw new Error(`${bin} is missing: CI runs the validator corpus on bpftrace ${version}`);
  if (!present) process.stderr.write(`!!! SKIPPING the validator corpus on bpftrace ${version}: ${bin} is missing\n`);
  describe.skipIf(!kernel.ok || !present || process.env.MCPTRACE_BPFTRACE === bin)(`validate_program on bpftrace ${version}`, () => {
    let saved: string | undefined;
    beforeAll(() => {
      saved = process.env.MCPTRACE_BPFTRACE;
      process.env.MCPTRACE_BPFTRACE = bin;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.MCPTRACE_BPFTRACE;
      else process.env.MCPTRACE_BPFTRACE = saved;
    });
    it('categories and hints of the broken programs, no false rejections', { timeout: 600_000 }, async () => {
      const core = new Core({ policy: { level: 'standard' } });
      expect(await versionOf(core)).toBe(version);
      const r: Figures = await evaluate(core, { version, parts: ['broken', 'valid'] });
      process.stderr.write(`${report(r)}\n`);
      expect(r.broken!.rejected).toBe(r.broken!.cases);
      expect(r.broken!.category_accuracy).toBeGreaterThanOrEqual(MIN_CATEGORY);
      expect(r.broken!.hint_rate).toBeGreaterThanOrEqual(MIN_HINT);
      expect(r.valid!.false_rejections).toBe(0);
      await core.shutdown();
    });
    it('the compile check attaches nothing: a program that never ends validates at once', { timeout: 60_000 }, async () => {
      // bpftrace 0.27's --emit-elf runs the program after writing the file; this one would
      // never exit, so a check that ran it would time out and report it invalid.
      const core = new Core({});
      const r = await core.callTool('validate_program', { program: 'interval:ms:10 { printf("tick\\n"); }' });
      expect(r.structured).toMatchObject({ valid: true, errors: [] });
      await core.shutdown();
    });
  });
}

describeKernel('validate_program and the policy through MCP and the CLI', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  }, 30_000);
  afterAll(() => server?.close());

  it('answers with located errors and a fix, over MCP (output schema checked by the client)', { timeout: 60_000 }, async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('mcptrace-validate-')).length;
    const r = await server.call('validate_program', { program: 'tracepoint:syscalls:sys_enter_opn { @[comm] = count(); }' });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent;
    expect(s.valid).toBe(false);
    expect(s.errors[0]).toMatchObject({ category: 'unknown_probe', line: 1, column: 1 });
    expect(s.errors[0].suggestion).toContain('tracepoint:syscalls:sys_enter_open');
    expect(s.probes).toEqual([{ pattern: 'tracepoint:syscalls:sys_enter_opn', count: 0, exists: false }]);
    expect(s.safety).toMatchObject({ level: 'standard', verdict: 'allow' });
    // The compile's temp file is gone.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('mcptrace-validate-')).length).toBe(before);
  });

  it('counts wildcards, estimates, and warns about what compiles but cannot work here', { timeout: 60_000 }, async () => {
    const r = await server.call('validate_program', {
      program:
        'tracepoint:syscalls:sys_enter_open* { @[probe] = count(); } kprobe:vfs_read { @r = count(); } uprobe:/bin/bash:no_such_symbol_here { @u = count(); }',
    });
    const s = r.structuredContent;
    expect(s.probes[0].count).toBeGreaterThan(1);
    expect(s.estimate).toMatchObject({ maps: 3 });
    const warned = s.warnings.map((w: { message: string }) => w.message).join('\n');
    expect(warned).toContain('no kprobes');
    expect(warned).toContain('no_such_symbol_here matches nothing');
  });

  it('exec_program refuses what the policy refuses, before anything runs, naming the rule', { timeout: 60_000 }, async () => {
    const r = await server.call('exec_program', { program: 'BEGIN { system /* split */\n ("id"); exit(); }', wait: true });
    expect(r.isError).toBe(true);
    // An error result is text only over MCP (its structure would not match the output schema).
    expect(textOf(r)).toMatch(/refused by policy rule "system-call" \(safety level standard\) at line 1:9: .* To proceed: /);
    const runs = await server.call('list_executions', {});
    expect(runs.structuredContent.count).toBe(0);
  });

  it('exec_program returns a compile error in the same taxonomy, and attempt_of chains the retry', { timeout: 60_000 }, async () => {
    const bad = await server.call('exec_program', { program: 'tracepoint:syscalls:sys_enter_opn { @[comm] = count(); exit(); }', wait: true });
    expect(bad.structuredContent.status).toBe('failed');
    expect(bad.structuredContent.errors[0]).toMatchObject({ category: 'unknown_probe', line: 1 });
    expect(bad.structuredContent.errors[0].suggestion).toContain('sys_enter_open');
    const good = await server.call('exec_program', {
      program: 'BEGIN { printf("fixed\\n"); exit(); }',
      wait: true,
      attempt_of: bad.structuredContent.execution_id,
    });
    expect(good.structuredContent).toMatchObject({ status: 'completed', attempt_of: bad.structuredContent.execution_id, attempt: 2 });
    const runs = await server.call('list_executions', {});
    expect(runs.structuredContent.executions.find((e: { execution_id: string }) => e.execution_id === good.structuredContent.execution_id)).toMatchObject({
      attempt: 2,
    });
  });

  it("a policy rule at warn lets the run go and says so in the run's warnings", { timeout: 60_000 }, async () => {
    // Fails to compile at once (no such field), so the flood never starts; the warning is there.
    const r = await server.call('exec_program', { program: 'tracepoint:sched:sched_switch { printf("%d\\n", args->no_such_field); }', wait: true });
    expect(r.structuredContent.status).toBe('failed');
    expect(r.structuredContent.warnings.join('\n')).toMatch(/policy rule "output-flood" \(safety level standard\) at line 1:1: /);
  });

  it('the CLI: validate prints the diagnosis, and a refused exec exits 5', { timeout: 60_000 }, async () => {
    const v = runCli(['validate', 'BEGIN { prinf("x"); }']);
    expect(await v.exited).toBe(0);
    expect(v.stdout()).toContain('error [unknown_function] 1:9');
    expect(v.stdout()).toContain('printf(fmt, ...)');
    const x = runCli(['exec', 'BEGIN { cat("/etc/shadow"); exit(); }']);
    expect(await x.exited).toBe(5);
    expect(x.stderr()).toContain('policy rule "cat-sensitive"');
  });

  it('a server started at permissive lets system() through the policy; bpftrace still wants --unsafe', { timeout: 60_000 }, async () => {
    const s = await startServer(['--safety-level', 'permissive']);
    try {
      const r = await s.call('exec_program', { program: 'BEGIN { system("true"); exit(); }', wait: true });
      expect(r.structuredContent.status).toBe('failed');
      expect(r.structuredContent.errors[0]).toMatchObject({ category: 'unsafe' });
      expect(r.structuredContent.errors[0].suggestion).toContain('--unsafe');
    } finally {
      await s.close();
    }
  });
});

describeKernel('the policy covers every runnable tool: templates and bcc tools too', () => {
  const rule = (id: string, match: Partial<PolicyRule>): PolicyRule => ({
    id,
    message: `${id} is off here.`,
    remedy: 'Ask the operator.',
    levels: { strict: 'refuse', standard: 'refuse', permissive: 'allow' },
    ...match,
  });
  const base = loadPolicy({ level: 'standard' });
  const core = new Core({
    policy: new Policy(
      [...base.rules, rule('no-raw-syscalls', { probes: ['tracepoint:raw_syscalls:*'] }), rule('no-execsnoop', { tools: ['execsnoop'] })],
      'standard',
    ),
  });
  afterAll(() => core.shutdown());

  it('a template is judged on the program it renders', { timeout: 30_000 }, async () => {
    const r = await core.callTool('count_syscalls', { duration: 1, dry_run: true });
    expect(r).toMatchObject({ isError: true, errorKind: 'policy' });
    expect(r.text).toContain('policy rule "no-raw-syscalls"');
  });

  it('a bcc tool, which has no bpftrace program, is judged on its name and argv', { timeout: 30_000 }, async () => {
    const r = await core.callTool('execsnoop', { duration: 1, dry_run: true });
    expect(r).toMatchObject({ isError: true, errorKind: 'policy' });
    expect(r.text).toContain('policy rule "no-execsnoop"');
  });

  it('a value that reaches a template as a string literal is never a call', { timeout: 30_000 }, async () => {
    const plain = new Core({ policy: { level: 'strict' } });
    const r = await plain.callTool('count_syscalls', { duration: 1, comm: 'system("id")', dry_run: true });
    expect(r.isError).toBeFalsy();
    await plain.shutdown();
  });
});
