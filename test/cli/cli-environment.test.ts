import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentChecks, SEVERITY_MARK, severityOf } from '../../src/runtime/environment-checks.js';
import { runCli } from '../helpers/cli.js';

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = runCli(args, { env });
  const code = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-env-'));
const notExecutable = path.join(dir, 'bpftrace-copy');
writeFileSync(notExecutable, '#!/bin/sh\necho bpftrace v0.17.0\n');
chmodSync(notExecutable, 0o644);
const impostor = path.join(dir, 'not-bpftrace');
writeFileSync(impostor, '#!/bin/sh\necho "hello 1.0"\n');
chmodSync(impostor, 0o755);

// Each way MCPTRACE_BPFTRACE can be wrong, and what doctor and a run must say about it.
const CASES = [
  { value: path.join(dir, 'missing'), says: `MCPTRACE_BPFTRACE is set to ${path.join(dir, 'missing')}, and there is no file there` },
  { value: dir, says: `MCPTRACE_BPFTRACE is set to ${dir}, which is a directory, not a program` },
  { value: notExecutable, says: `MCPTRACE_BPFTRACE is set to ${notExecutable}, and that file is not executable` },
  {
    value: impostor,
    says: `MCPTRACE_BPFTRACE is set to ${impostor}, which is not a working bpftrace: \`${impostor} --version\` printed "hello 1.0" instead of "bpftrace vX.Y.Z"`,
  },
  {
    value: 'no-such-bpftrace',
    says: 'MCPTRACE_BPFTRACE is set to no-such-bpftrace, and no program of that name is in PATH or /usr/sbin, /usr/local/sbin, /sbin',
  },
];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const FIX = 'oint MCPTRACE_BPFTRACE at a bpftrace binary (e.g. /usr/bin/bpftrace), or unset it to use the bpftrace in PATH';

describe('a wrong MCPTRACE_BPFTRACE is named, with its path, what is wrong and the fix', () => {
  it.each(CASES)('doctor: $value', async ({ value, says }) => {
    const r = await cli(['doctor'], { MCPTRACE_BPFTRACE: value });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`^FAIL  bpftrace +${escape(says)}\n +fix: P${escape(FIX)}`, 'm'));
    expect(r.stdout).not.toContain('not found in PATH');
  });

  it.each(CASES.slice(2, 4))('exec refuses to run, and never suggests setting the variable already set: $value', async ({ value, says }) => {
    const r = await cli(['exec', 'BEGIN { printf("ran\\n"); exit(); }'], { MCPTRACE_BPFTRACE: value });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`Error: ${says}. P${FIX}`);
    expect(r.stderr).not.toContain('set MCPTRACE_BPFTRACE to');
    expect(r.stdout).not.toContain('ran');
  });
});

describe('one severity model for doctor and info', () => {
  it('a missing optional feature is a warning, a missing requirement a failure', () => {
    expect(severityOf({ ok: true })).toBe('ok');
    expect(severityOf({ ok: false, optional: true })).toBe('warn');
    expect(severityOf({ ok: false })).toBe('fail');
  });

  it('kprobes and BTF are optional on every machine; tracefs, bpftrace and privileges are not', async () => {
    const { checks } = await environmentChecks();
    const optional = Object.fromEntries(checks.map((c) => [c.name, Boolean(c.optional)]));
    expect(optional).toEqual({ bpftrace: false, tracefs: false, btf: true, kprobes: true, privileges: false });
  });

  it('doctor and info mark every shared check the same, in text and JSON (kprobes: warn on a kernel without them)', async () => {
    const doctor = JSON.parse((await cli(['doctor', '--json'])).stdout);
    const infoRun = await cli(['info', '--json']);
    const info = JSON.parse(infoRun.stdout);
    const infoText = (await cli(['info'])).stdout;
    const bySeverity = (checks: { name: string; severity: string }[]) => Object.fromEntries(checks.map((c) => [c.name, c.severity]));
    const fromDoctor = bySeverity(doctor.checks);
    const fromInfo = bySeverity(info.environment);
    expect(Object.keys(fromInfo).length).toBe(5);
    for (const [name, severity] of Object.entries(fromInfo)) {
      expect(fromDoctor[name]).toBe(severity);
      expect(infoText).toMatch(new RegExp(`^${SEVERITY_MARK[severity as 'ok' | 'warn' | 'fail']} ${name}: `, 'm'));
    }
    const kprobes = (await environmentChecks()).checks.find((c) => c.name === 'kprobes')!;
    if (!kprobes.ok) {
      expect(fromInfo.kprobes).toBe('warn');
      expect(infoText).toMatch(/^warn kprobes: /m);
      expect(infoText).not.toMatch(/^FAIL kprobes/m);
    }
  });
});
