import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { locateVariant } from '../../src/kinds/bcc/bcc-spec.js';
import type { ExecutionResult } from '../../src/results/execution-view.js';
import { describeKernel } from '../helpers/kernel.js';
import { expectConforms } from '../helpers/output-schema.js';

// The fallback with real tools on a real kernel. A test-only catalog entry (in a user tools
// directory) names two providers: libbpf-tools' funclatency on a kernel function no kernel has,
// which every kernel refuses as it attaches (as 6.1 refuses 0.26's biosnoop, whose function is
// gone), then bpftrace's own syscount.bt, which attaches to tracepoints only and runs here.
// test/stock-kernel runs the catalog's biosnoop the same way on Debian 12's 6.1.
const MISSING = 'mcptrace_no_such_function';
let dir: string;
let core: Core;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-fallback-real-'));
  mkdirSync(path.join(dir, 'bcc'));
  writeFileSync(
    path.join(dir, 'bcc', 'gonesnoop.yaml'),
    [
      'tool: gonesnoop',
      'purpose: A libbpf tool whose kernel function is gone, with a tracepoint port.',
      'variants:',
      '  - command: funclatency',
      `    fixed_args: ["${MISSING}"]`,
      '  - bpftrace_script: syscount.bt',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'gonesnoop.yaml'),
    `name: gonesnoop
title: A tool whose first provider the kernel refuses
kind: bcc
description: Test-only catalog entry; its libbpf provider attaches to a function no kernel has.
annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false }
input:
  type: object
  additionalProperties: false
  properties:
    duration: { $ref: common.json#/$defs/duration }
    timeout: { $ref: common.json#/$defs/timeout }
    wait: { $ref: common.json#/$defs/wait }
output: { $ref: common.json#/$defs/execution_result }
run: { tool: gonesnoop, duration_input: duration }
`,
  );
  core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
});
afterAll(async () => {
  await core.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describeKernel('bcc provider fallback, real tools', () => {
  it('both providers are installed here', () => {
    expect(core.loaded.problems).toEqual([]);
    expect(locateVariant({ command: 'funclatency' }), 'libbpf-tools: apt-get install -y libbpf-tools').toBeDefined();
    expect(locateVariant({ bpftrace_script: 'syscount.bt' }), "bpftrace's tools: apt-get install -y bpftrace").toBeDefined();
  });

  it('funclatency, refused by the kernel as it attaches, hands over to syscount.bt in the same execution', async () => {
    const r = await core.callTool('gonesnoop', { duration: 2, timeout: 60, wait: true });
    expectConforms(core, 'gonesnoop', r);
    const v = r.structured as ExecutionResult;
    expect({ status: v.status, variant: v.variant, error: v.error_message }, r.text).toEqual({ status: 'completed', variant: 'syscount.bt', error: null });
    // syscount.bt's own output: its banner, then its top syscalls at the end.
    expect(v.output.join('\n'), r.text).toMatch(/Counting syscalls/);
    expect(v.output.join('\n'), r.text).toMatch(/@syscall\[|@process\[/);
    expect(core.runner.list()).toHaveLength(1);
    expect(v.refused_variants).toHaveLength(1);
    const [refused] = v.refused_variants!;
    expect(refused.variant).toBe('funclatency');
    expect(refused.command).toMatch(new RegExp(`funclatency ${MISSING}$`));
    expect(refused.exit_code).toBe(1);
    // libbpf's own words (0.26: "No such file or directory", 0.37: "-ENOENT"), and the diagnosis.
    expect(refused.stderr.join('\n')).toContain(`failed to create kprobe '${MISSING}+0x0' perf event`);
    expect(refused.error).toMatch(/^funclatency needs kprobes, and this kernel has none \(CONFIG_KPROBES is off, or the function is not traceable\)/);
    expect(v.warnings[0]).toContain('funclatency was refused by the kernel as it started');
    expect(v.warnings[0]).toContain('so syscount.bt, the next one in the catalog');
  }, 120_000);
});
