import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ajv } from '../../src/manifest/ajv.js';
import { readDefinition } from '../../src/manifest/loader.js';
import { policyHook } from '../../src/policy/hook.js';
import { loadPolicy, refusalText, type Policy } from '../../src/policy/policy.js';
import { bufferCopies, sampleRate, wildcardShape } from '../../src/policy/program-facts.js';
import type { ProbeCache } from '../../src/runtime/probe-cache.js';
import { extractProbes } from '../../src/validation/probes.js';
import { tokenize } from '../../src/validation/tokens.js';
import { analyzeProgram } from '../../src/validation/validator.js';

const REPO = path.resolve(__dirname, '../..');

/** A config home with the given user policy file (or none): the package's rules plus these. */
function policyWith(userRules?: string, level?: string): Policy {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-policy-'));
  if (userRules !== undefined) {
    mkdirSync(path.join(dir, 'mcptrace'));
    writeFileSync(path.join(dir, 'mcptrace', 'policy.yaml'), userRules);
  }
  return loadPolicy({ level }, { XDG_CONFIG_HOME: dir, HOME: dir });
}

const subject = (program: string, extra: { argv?: string[]; input?: Record<string, unknown> } = {}) => ({
  tool: 'exec_program',
  argv: extra.argv ?? [],
  program: analyzeProgram(program),
  input: extra.input,
});

const spec = (text: string) => extractProbes(`${text} { }`, tokenize(`${text} { }`).tokens)[0];

// A probe cache that lists nothing, as on this kernel for kprobes: rules must not need it.
const noProbes = { all: () => Promise.resolve([]) } as unknown as ProbeCache;

describe('program facts the overhead and data rules read', () => {
  it('reads a sampling rate per CPU from every way of writing one', () => {
    expect(sampleRate(spec('profile:hz:99'))).toBe(99);
    expect(sampleRate(spec('p:us:250'))).toBe(4000);
    expect(sampleRate(spec('profile:10ms'))).toBeCloseTo(100);
    expect(sampleRate(spec('interval:s:5'))).toBeCloseTo(0.2);
    expect(sampleRate(spec('software:cpu-clock:200000'))).toBe(5000);
    expect(sampleRate(spec('software:cpu-clock'))).toBe(1000);
    // A count-based event fires with the workload, not a clock: no rate to judge.
    expect(sampleRate(spec('software:page-faults:1'))).toBeUndefined();
    expect(sampleRate(spec('tracepoint:sched:sched_switch'))).toBeUndefined();
  });

  it('measures a wildcard on the pattern, not on what this kernel lists', () => {
    expect(wildcardShape(spec('kprobe:*'))).toEqual({ literal: 0, prefix: 0 });
    expect(wildcardShape(spec('tracepoint:*:*'))).toEqual({ literal: 0, prefix: 0 });
    expect(wildcardShape(spec('kprobe:vfs_*'))).toEqual({ literal: 4, prefix: 4 });
    expect(wildcardShape(spec('kfunc:*tcp*'))).toEqual({ literal: 3, prefix: 0 });
    // A wildcard in a uprobe's path alone does not widen the functions it names.
    expect(wildcardShape(spec('uprobe:/usr/lib/*/libssl.so.3:SSL_write'))).toBeUndefined();
  });

  it('follows a data buffer through maps and variables, and not a length', () => {
    const opts = { calls: ['str', 'buf'], probes: ['tracepoint:syscalls:sys_*_read'], args: [/\bargs(->|\.)buf\b/] };
    const saved = 'tracepoint:syscalls:sys_enter_read { @b[tid] = args->buf; }\ntracepoint:syscalls:sys_exit_read { $p = @b[tid]; printf("%s", str($p)); }';
    expect(bufferCopies(analyzeProgram(saved), opts).map((c) => [c.call, c.arg, c.at.line])).toEqual([['str', '$p', 2]]);
    const lengths = 'tracepoint:syscalls:sys_enter_read { @n[comm] = sum(args->count); printf("%p\\n", args->buf); }';
    expect(bufferCopies(analyzeProgram(lengths), opts)).toEqual([]);
  });
});

describe('overhead and data rules', () => {
  const p = policyWith();

  it('refuses kprobe:* with no probe list at all: the program is judged, not this kernel', () => {
    const r = p.evaluate(subject('kprobe:* { @[func] = count(); }'));
    expect(r.verdict).toBe('refuse');
    expect(r.findings.map((f) => f.rule)).toContain('wildcard-everything');
    expect(refusalText(r)).toContain('To proceed: Name the functions you need');
  });

  it('lets counting and timing TLS calls through, and warns on copying their plaintext', () => {
    expect(p.evaluate(subject('uprobe:/usr/lib/x86_64-linux-gnu/libssl.so.3:SSL_write { @[comm] = count(); }'), 'strict').verdict).toBe('allow');
    const copy = p.evaluate(subject('uprobe:/usr/lib/x86_64-linux-gnu/libssl.so.3:SSL_write { printf("%s", str(arg1, arg2)); }'));
    expect(copy).toMatchObject({ verdict: 'warn', findings: [{ rule: 'payload-capture', line: 1, message: expect.stringContaining('str(arg1)') }] });
    expect(copy.findings[0].remedy).toContain('Print lengths, not contents');
  });

  it('refuses copying an authentication daemon named only by a positional parameter', () => {
    const program = 'tracepoint:syscalls:sys_enter_write /comm == str($1)/ { printf("%s", str(args->buf)); }';
    expect(p.evaluate(subject(program, { argv: ['-e', program, '--', 'sshd'] })).verdict).toBe('refuse');
    expect(p.evaluate(subject(program, { argv: ['-e', program, '--', 'nginx'] })).verdict).toBe('warn');
  });

  it('names the map and key it judges, and says what to key on instead', () => {
    const r = p.evaluate(subject('tracepoint:syscalls:sys_enter_openat { @t[comm, nsecs] = count(); }'));
    expect(r.findings[0]).toMatchObject({
      rule: 'unbounded-map-keys',
      message: expect.stringMatching(/^@t\[nsecs\]: /),
      remedy: expect.stringContaining('instead of nsecs'),
    });
  });
});

describe('confirm: a decision a person should make', () => {
  const longRun = { input: { timeout: 3 * 86400 } };
  const program = 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }';

  it('is the verdict of a run of days at standard, with a note that says who confirms and how', () => {
    const r = policyWith().evaluate(subject(program, longRun));
    expect(r.verdict).toBe('confirm');
    expect(r.findings).toMatchObject([{ rule: 'long-run', decision: 'confirm', message: expect.stringContaining('3 days') }]);
    expect(r.confirmation).toMatch(
      /needs a person's confirmation .*"long-run".*y\/N prompt on a terminal.*input request to an MCP client.*refusal anywhere else/,
    );
    expect(policyWith().evaluate(subject(program))).toEqual({ level: 'standard', verdict: 'allow', findings: [] });
  });

  it('ranks between warn and refuse: a refusal wins, and it outranks a warning', () => {
    const p = policyWith();
    const withFlood = 'tracepoint:raw_syscalls:sys_enter { printf("%d\\n", pid); }';
    expect(p.evaluate(subject(withFlood, longRun)).verdict).toBe('confirm');
    expect(p.evaluate(subject('kprobe:* { @ = count(); }', longRun)).verdict).toBe('refuse');
  });

  const confirmRun = (answer?: 'accept' | 'decline' | 'cancel' | 'ask' | 'unavailable') => {
    const warnings: string[] = [];
    const verdicts: string[] = [];
    const asked: unknown[] = [];
    const run = {
      tool: { def: { name: 'exec_program' } },
      input: longRun.input,
      launch: { spec: { argv: ['bpftrace', '-e', program] }, program },
      warn: (m: string) => warnings.push(m),
      verdict: (v: string) => verdicts.push(v),
      confirm: answer
        ? async (req: unknown) => {
            asked.push(req);
            return answer;
          }
        : undefined,
    };
    return { run, warnings, verdicts, asked };
  };

  it('the hook asks a person: yes runs it, with the confirmation among the warnings', async () => {
    const { run, warnings, verdicts, asked } = confirmRun('accept');
    expect(await policyHook(policyWith(), noProbes)(run)).toBeUndefined();
    expect(asked).toEqual([
      expect.objectContaining({ tool: 'exec_program', rules: ['long-run'], level: 'standard', program, reason: expect.stringContaining('3 days') }),
    ]);
    expect(warnings).toEqual([expect.stringMatching(/a person confirmed this run \(long-run, safety level standard\)/)]);
    expect(verdicts).toEqual(['confirmed']);
  });

  it('no, a dismissal, or nobody to ask refuses the run with why and how to approve', async () => {
    for (const [answer, words, confirmation] of [
      ['decline', /the person said no/, 'declined'],
      ['cancel', /dismissed the question/, 'cancelled'],
      ['unavailable', /nobody could be asked here\. To approve: run it from a terminal \(y\/N\), or pass --yes/, 'unavailable'],
      [undefined, /nobody could be asked here/, 'unavailable'],
    ] as const) {
      const { run } = confirmRun(answer);
      const r = await policyHook(policyWith(), noProbes)(run);
      expect(r?.isError).toBe(true);
      expect(r?.errorKind).toBe('policy');
      expect(r?.text).toMatch(words);
      expect(r?.text).toContain('"long-run"');
      expect(r?.structured).toMatchObject({ confirmation });
      expect(r?.confirm).toBeUndefined();
    }
  });

  it("'ask' hands the question back to the caller (MCP sends it as an input request)", async () => {
    const { run } = confirmRun('ask');
    const r = await policyHook(policyWith(), noProbes)(run);
    expect(r?.confirm).toMatchObject({ tool: 'exec_program', rules: ['long-run'], argv: ['bpftrace', '-e', program] });
    expect(r?.text).toMatch(/^waiting for a person/);
  });

  it('at strict the same run is refused before anyone is asked', async () => {
    const { run, asked } = confirmRun('accept');
    const refused = await policyHook(policyWith(undefined, 'strict'), noProbes)(run);
    expect(refused?.errorKind).toBe('policy');
    expect(asked).toEqual([]);
  });

  it("a user rule may say confirm, and validate_program's outputSchema carries it", () => {
    const p = policyWith(
      'rules:\n  - { id: exec-watch, probes: ["tracepoint:sched:sched_process_exec"], levels: { strict: refuse, standard: confirm, permissive: allow }, message: exec tracing shows every command line., remedy: Ask the team first. }\n',
    );
    expect(p.problems).toEqual([]);
    const r = p.evaluate(subject('tracepoint:sched:sched_process_exec { printf("%s\\n", comm); }'));
    expect(r).toMatchObject({ verdict: 'confirm', findings: [{ rule: 'exec-watch', decision: 'confirm', line: 1, column: 1 }] });
    const { definition } = readDefinition(path.join(REPO, 'tools.d/validate_program.yaml'));
    const safetySchema = (definition!.output as { properties: { safety: object } }).properties.safety;
    const validate = ajv.compile(safetySchema);
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a bad regular expression in a new rule kind is located, and the policy fails closed', () => {
    const p = policyWith(
      'rules:\n  - id: bad-keys\n    map_keys: { keys: ["(nsecs"] }\n    levels: { strict: refuse, standard: warn, permissive: allow }\n    message: m\n    remedy: r\n',
    );
    expect(p.problems[0]).toMatchObject({ line: 3, message: expect.stringContaining('/rules/0/map_keys/keys/0: not a regular expression') });
    expect(p.evaluate(subject('BEGIN { exit(); }')).verdict).toBe('refuse');
  });
});
