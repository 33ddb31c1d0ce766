import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import type { PreparedTemplate } from '../../src/kinds/template/index.js';
import { unmetRequirement } from '../../src/kinds/template/requirements.js';
import { BPFTRACE, compileOnlyArgs, describeKernel } from '../helpers/kernel.js';

const run = promisify(execFile);
const ROOTS = process.env.MCPTRACE_ROOTS_DIR || '/srv/mcptrace-roots';
/** Every bpftrace we support: this machine's, Debian 13's (0.23) and Debian unstable's (0.27). */
const VERSIONS = [
  { name: 'host', bin: BPFTRACE },
  { name: '0.23 (trixie)', bin: path.join(ROOTS, 'bin/bpftrace-trixie') },
  { name: '0.27 (sid)', bin: path.join(ROOTS, 'bin/bpftrace-sid') },
].map((v) => {
  // Asked once per binary: the version decides between --emit-elf and --mode codegen.
  const args = existsSync(v.bin) || !v.bin.includes('/') ? compileOnlyArgs(v.bin, '@ELF@') : [];
  return { ...v, compileOnly: (elf: string) => args.map((a) => (a === '@ELF@' ? elf : a)) };
});
for (const v of VERSIONS.slice(1)) {
  if (!existsSync(v.bin)) {
    const why = `${v.bin} is missing (bash scripts/setup-bpftrace-roots.sh)`;
    if (process.env.CI === 'true') throw new Error(`template version tests must run in CI: ${why}`);
    process.stderr.write(`\n!!! template compile checks skip bpftrace ${v.name}: ${why}\n\n`);
  }
}

const core = new Core({ env: { HOME: '/nonexistent' }, runner: { concurrency: 1 } });
afterAll(() => core.shutdown());
const templates = core.tools.filter((t) => t.kind.name === 'template');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-templates-'));

async function program(name: string, input: Record<string, unknown>): Promise<string> {
  const r = await core.callTool('render_template', { name, params: input });
  expect(r.isError, r.text).toBeFalsy();
  return (r.structured as { program: string }).program;
}

describeKernel('every template compiles on every supported bpftrace (nothing attaches)', () => {
  for (const t of templates) {
    const unmet = unmetRequirement((t.prepared as PreparedTemplate).requires);
    // Compiling is bpftrace's own CPU work, independent per template: a few at a time.
    it.concurrent(`${t.def.name}${unmet ? ' (requirement unmet here: checked by the run test)' : ''}`, async () => {
      if (unmet) {
        expect((t.prepared as PreparedTemplate).requires.length).toBeGreaterThan(0);
        return;
      }
      const file = path.join(dir, `${t.def.name}.bt`);
      writeFileSync(file, await program(t.def.name, t.def.examples![0].input));
      for (const v of VERSIONS.filter((x) => existsSync(x.bin) || !x.bin.includes('/'))) {
        const out = path.join(dir, `${t.def.name}.o`);
        const r = await run(v.bin, [...v.compileOnly(out), file], { timeout: 60_000 }).catch(
          (e: { stderr?: string; code?: number; killed?: boolean }) => e,
        );
        // A compile that had to be killed attached the program instead of stopping: a failure.
        const failed = ('code' in r && r.code) || ('killed' in r && r.killed);
        expect(failed ? `${v.name}: ${'stderr' in r ? r.stderr : ''}` : 'ok', `${t.def.name} on bpftrace ${v.name}`).toBe('ok');
      }
    }, 120_000);
  }
});

describeKernel('every template runs for real with its example parameters (1 s)', () => {
  for (const t of templates) {
    const { requires, instead } = t.prepared as PreparedTemplate;
    const unmet = unmetRequirement(requires);
    it(`${t.def.name}${unmet ? ' refuses with a clear environment error' : ' completes'}`, async () => {
      const r = await core.callTool(t.def.name, { ...t.def.examples![0].input, duration: 1, timeout: 60, wait: true });
      if (unmet) {
        expect(r.isError).toBe(true);
        expect(r.errorKind).toBe('environment');
        expect(r.text).toContain(`${t.def.name} cannot run here: ${unmet}`);
        expect(r.text).toContain(instead!);
        return;
      }
      const s = r.structured as { status: string; exit_code: number; error_message: string | null; output: string[] };
      expect({ status: s.status, exit: s.exit_code, error: s.error_message }, r.text).toEqual({ status: 'completed', exit: 0, error: null });
      expect(s.output.length).toBeGreaterThan(0);
    }, 90_000);
  }

  it('count_syscalls prints syscall names, not numbers', async () => {
    const r = await core.callTool('count_syscalls', { duration: 1, timeout: 60, wait: true });
    const lines = (r.structured as { output: string[] }).output;
    expect(lines.some((l) => /^@syscalls_by_name\[(read|write|openat|futex|epoll_pwait|ioctl)\]: \d+$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^@syscalls_by_name\[\d+\]/.test(l))).toBe(false);
  }, 90_000);

  it('a tracepoint this kernel lacks is named in an environment error before bpftrace starts', async () => {
    const r = await core.callTool('trace_tracepoint_rate', { tracepoint: 'sched:no_such_event', duration: 1, wait: true });
    expect(r.errorKind).toBe('environment');
    expect(r.text).toContain('trace_tracepoint_rate cannot run here: this kernel has no tracepoint:sched:no_such_event');
    expect(r.text).toContain('filter "tracepoint:sched:*"');
  });
});
