import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { diagnoseBccFailure } from '../../src/kinds/bcc/diagnose.js';
import { BCC_ALLOW_DIRS_ENV, type BccSpec } from '../../src/kinds/bcc/bcc-spec.js';
import type { ExecutionResult } from '../../src/results/execution-view.js';
import { errorResult } from '../../src/results/tool-result.js';
import type { SpawnedProcess, Spawner } from '../../src/runtime/spawner.js';
import { FakeTracer, recording, type FakeBehaviour, type Recording } from '../helpers/fake-tracer.js';
import { expectConforms } from '../helpers/output-schema.js';
import { fakePreflight } from '../helpers/preflight.js';

// A bcc tool whose first provider the kernel refuses hands over to the next one in the same run.
// The refused provider replays what real libbpf-tools printed when a kernel refused them
// (test/fixtures/bcc/refusals, recorded by its record.sh); the .bt port that takes over replays
// recorded bpftrace 0.17 output. No root, no kernel: test/bcc/fallback-real.test.ts runs the
// real tools, and the stock-kernel lane runs biosnoop on 6.1.

interface Refusal {
  libbpf_tools: string;
  kernel: string;
  command: string;
  exitCode: number;
  stderr: string[];
}
const FIXTURES = path.join(__dirname, '../fixtures/bcc/refusals');
const refusals = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')) as Refusal) }));
// What the kernel refused (kprobe, fentry, attach), and what the user got wrong (usage errors).
const kernelRefusals = refusals.filter((r) => r.exitCode === 1);
const usageErrors = refusals.filter((r) => r.exitCode === 64);

const asRecording = (r: { exitCode: number; stdout?: string[]; stderr: string[] }): Recording => ({
  program: '',
  exitCode: r.exitCode,
  before: { stdout: r.stdout ?? [], stderr: r.stderr },
  after: { stdout: [], stderr: [] },
});

/** The libbpf provider replays `first` and exits by itself; the .bt port replays a bpftrace 0.17 run that prints until stopped. */
class ProviderSpawner implements Spawner {
  readonly started: FakeTracer[] = [];
  constructor(
    private readonly first: Recording,
    private readonly how: FakeBehaviour = { exitsAlone: true },
  ) {}
  async spawn(argv: string[]): Promise<SpawnedProcess> {
    const bt = argv.some((a) => a.endsWith('.bt'));
    const t = new FakeTracer(argv, bt ? recording('printf-stream') : this.first, bt ? {} : this.how);
    this.started.push(t);
    return t;
  }
}

let dir: string;
let allowBefore: string | undefined;
const cores: Core[] = [];
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-fallback-'));
  mkdirSync(path.join(dir, 'bcc'));
  mkdirSync(path.join(dir, 'bin'));
  // Providers "installed" in a directory the operator allowed; the fake spawner never runs them.
  writeFileSync(path.join(dir, 'bin', 'fallbacksnoop'), '#!/bin/false\n');
  chmodSync(path.join(dir, 'bin', 'fallbacksnoop'), 0o755);
  writeFileSync(path.join(dir, 'bin', 'fallbacksnoop.bt'), 'interval:ms:50 { printf("tick %d\\n", 1); }\n');
  allowBefore = process.env[BCC_ALLOW_DIRS_ENV];
  process.env[BCC_ALLOW_DIRS_ENV] = path.join(dir, 'bin');
  writeFileSync(
    path.join(dir, 'bcc', 'fallbacksnoop.yaml'),
    [
      'tool: fallbacksnoop',
      'purpose: A libbpf tool with a bpftrace port.',
      'variants:',
      '  - command: fallbacksnoop',
      '    args: [{ input: disk, option: "-d" }, { input: function, positional: true }]',
      '  - bpftrace_script: fallbacksnoop.bt',
      '    args: [{ input: function, positional: true }]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'fallbacksnoop.yaml'),
    `name: fallbacksnoop
title: A tool with two providers
kind: bcc
description: A catalog entry whose libbpf provider the kernel may refuse, and whose .bt port then runs.
annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false }
input:
  type: object
  additionalProperties: false
  properties:
    disk: { type: string, pattern: "^[a-z0-9]+$" }
    function: { type: string, pattern: "^[a-z0-9_]+$" }
    duration: { $ref: common.json#/$defs/duration }
    timeout: { $ref: common.json#/$defs/timeout }
    wait: { $ref: common.json#/$defs/wait }
output: { $ref: common.json#/$defs/execution_result }
run: { tool: fallbacksnoop, duration_input: duration }
`,
  );
});
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});
afterAll(() => {
  if (allowBefore === undefined) delete process.env[BCC_ALLOW_DIRS_ENV];
  else process.env[BCC_ALLOW_DIRS_ENV] = allowBefore;
  rmSync(dir, { recursive: true, force: true });
});

function setup(first: Recording, how?: FakeBehaviour) {
  const spawner = new ProviderSpawner(first, how);
  const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' }, spawner, preflight: fakePreflight, runner: { graceMs: 2_000 } });
  cores.push(core);
  expect(core.loaded.problems).toEqual([]);
  const call = async (args: Record<string, unknown>) => {
    const r = await core.callTool('fallbacksnoop', args);
    expectConforms(core, 'fallbacksnoop', r);
    return { r, v: r.structured as ExecutionResult };
  };
  const argv0 = (t: FakeTracer) => path.basename(t.argv.find((a) => a.includes(dir))!);
  return { core, spawner, call, argv0 };
}

describe('a bcc provider the kernel refuses at start-up', () => {
  it('there are recorded refusals of both libbpf-tools versions, and usage errors', () => {
    expect(new Set(kernelRefusals.map((r) => r.libbpf_tools))).toEqual(new Set(['0.26', '0.37']));
    expect(usageErrors.length).toBeGreaterThanOrEqual(2);
  });

  for (const rec of kernelRefusals) {
    it(`${rec.libbpf_tools} ${rec.command} on ${rec.kernel}: the next provider runs in the same execution, the refusal kept`, async () => {
      const { core, spawner, call, argv0 } = setup(asRecording(rec));
      const { r, v } = await call({ duration: 1, wait: true });
      expect(spawner.started.map(argv0)).toEqual(['fallbacksnoop', 'fallbacksnoop.bt']);
      expect({ status: v.status, variant: v.variant, error: v.error_message }, r.text).toEqual({
        status: 'completed',
        variant: 'fallbacksnoop.bt',
        error: null,
      });
      expect(v.output).toContain('tick 1');
      // One run: the refused attempt and the one that ran share its id.
      expect(core.runner.list().map((e) => e.id)).toEqual([v.execution_id]);
      expect(v.refused_variants).toHaveLength(1);
      const [refused] = v.refused_variants!;
      expect(refused).toMatchObject({ variant: 'fallbacksnoop', exit_code: rec.exitCode, stderr: rec.stderr });
      expect(refused.command).toContain(path.join(dir, 'bin', 'fallbacksnoop'));
      expect(refused.error).toMatch(/needs kprobes|the kernel refused fallbacksnoop's BPF program/);
      expect(refused.hint).toBeTruthy();
      // The run's own stderr is the provider's that ran; the refused one's is in refused_variants.
      expect(v.stderr.join('\n')).not.toContain(rec.stderr.at(-1));
      expect(v.warnings[0]).toMatch(
        /^fallbacksnoop was refused by the kernel as it started \(.+\), so fallbacksnoop\.bt, the next one in the catalog's order, ran instead/,
      );
      expect(r.text).toContain('warning: fallbacksnoop was refused by the kernel');
    });
  }

  for (const rec of usageErrors) {
    it(`a usage error (${rec.libbpf_tools} ${rec.command}) is the caller's to fix: no other provider runs`, async () => {
      const { spawner, call } = setup(asRecording(rec));
      const { v } = await call({ duration: 1, wait: true });
      expect(spawner.started).toHaveLength(1);
      expect(v.status).toBe('failed');
      expect(v.error_message).toContain(rec.stderr[0]);
      expect(v.refused_variants).toBeUndefined();
      expect(v.variant).toBe('fallbacksnoop');
    });
  }

  const refusal = kernelRefusals.find((r) => r.libbpf_tools === '0.26' && r.command === 'vfsstat')!;

  it('a provider that printed output before failing ran: its failure stands, and nothing else runs', async () => {
    const header = 'TIME     READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s';
    const { spawner, call } = setup(asRecording({ exitCode: 1, stdout: [header], stderr: refusal.stderr }));
    const { v } = await call({ duration: 1, wait: true });
    expect(spawner.started).toHaveLength(1);
    expect({ status: v.status, variant: v.variant }).toEqual({ status: 'failed', variant: 'fallbacksnoop' });
    expect(v.output).toEqual([header]);
    expect(v.refused_variants).toBeUndefined();
  });

  it('a caller who stopped the run during start-up gets the refusal, not a second provider', async () => {
    // The refused provider prints its refusal only when signalled, after the stop.
    const slow: Recording = { program: '', exitCode: 1, before: { stdout: [], stderr: [] }, after: { stdout: [], stderr: refusal.stderr } };
    const { core, spawner, call } = setup(slow, { attachDelayMs: 100 });
    const { v: started } = await call({ duration: 30 });
    await core.callTool('stop_execution', { execution_id: started.execution_id });
    const exec = core.runner.get(started.execution_id)!;
    await new Promise((r) => (exec.finished ? r(undefined) : exec.once('end', r)));
    expect(spawner.started).toHaveLength(1);
    expect(spawner.started[0].signals[0]).toBe('SIGINT');
    expect(exec.variant).toBe('fallbacksnoop');
    expect(exec.refusedProviders).toEqual([]);
  });

  it('a next provider that cannot take the input does not run, and the refusal says how to use it', async () => {
    const { spawner, call } = setup(asRecording(refusal));
    const { v } = await call({ disk: 'sda', duration: 1, wait: true });
    expect(spawner.started).toHaveLength(1);
    expect(v.status).toBe('failed');
    expect(v.error_message).toMatch(/needs kprobes/);
    expect(v.hint).toContain(
      'fallbacksnoop.bt is installed and might run here, but it does not take the "disk" option: call again without that option to use it',
    );
  });

  it('a refusal of what the caller named (a function this kernel lacks) is the call to fix: no other provider runs', async () => {
    // The recorded refusal is of a kprobe on vfs_read.
    const { spawner, call } = setup(asRecording(refusal));
    const { v } = await call({ function: 'vfs_read', duration: 1, wait: true });
    expect(spawner.started).toHaveLength(1);
    expect(v.status).toBe('failed');
    expect(v.hint).toMatch(/^"vfs_read", which this call names, is what the kernel refused/);
    // A value the refusal does not name leaves it the kernel's: the next provider runs.
    const other = setup(asRecording(refusal));
    const { v: ran } = await other.call({ function: 'vfs_write', duration: 1, wait: true });
    expect(other.spawner.started.map(other.argv0)).toEqual(['fallbacksnoop', 'fallbacksnoop.bt']);
    expect(ran.variant).toBe('fallbacksnoop.bt');
  });

  it('the next provider passes the pre-run hooks (the policy) like the first: a refused one leaves the first refusal as the answer', async () => {
    const { core, spawner, call } = setup(asRecording(refusal));
    const seen: string[] = [];
    core.addPreRunHook(({ launch }) => {
      seen.push(launch.variant ?? '');
      return launch.variant?.endsWith('.bt') ? errorResult('no .bt here', 'policy') : undefined;
    });
    const { v } = await call({ duration: 1, wait: true });
    expect(seen).toEqual(['fallbacksnoop', 'fallbacksnoop.bt']);
    expect(spawner.started).toHaveLength(1);
    expect({ status: v.status, variant: v.variant }).toEqual({ status: 'failed', variant: 'fallbacksnoop' });
    expect(v.error_message).toMatch(/needs kprobes/);
  });
});

describe('diagnosis of a failed libbpf tool', () => {
  const spec: BccSpec = { tool: 'x', variants: [{ command: 'x' }] };
  it('every recorded kernel refusal is refused; no usage error is', () => {
    for (const r of kernelRefusals) expect(diagnoseBccFailure(spec, r.command, r.stderr).refused, r.file).toBe(true);
    for (const r of usageErrors) expect(diagnoseBccFailure(spec, r.command, r.stderr).refused, r.file).toBeUndefined();
  });
  it("bcc's Python tools: a missing function or missing kernel headers is a refusal", () => {
    const headers = diagnoseBccFailure(spec, 'x-bpfcc', [
      'modprobe: FATAL: Module kheaders not found in directory /lib/modules/6.18.0',
      'Unable to find kernel headers. Try rebuilding kernel with CONFIG_IKHEADERS=m (module) or installing the kernel development package for your running kernel version.',
    ]);
    expect(headers).toMatchObject({ refused: true, hint: expect.stringContaining('linux-headers-$(uname -r)') });
  });
});
