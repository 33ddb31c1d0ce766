import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe } from 'vitest';
import { compileOnlyArgs as featureArgs, featuresOf, OLDEST_SUPPORTED, parseVersion } from '../../src/runtime/bpftrace/version.js';

/**
 * How much slower than this machine the tests run: the stock-kernel guest emulates its CPUs
 * (qemu TCG, no KVM), and scripts/stock-kernel/run.mjs sets MCPTRACE_TEST_SLOWDOWN there. Only
 * time budgets (test timeouts, waits, a grace period) scale with it, never what is asserted.
 */
export const SLOWDOWN = Number(process.env.MCPTRACE_TEST_SLOWDOWN) || 1;

/** The bpftrace under test: MCPTRACE_BPFTRACE selects a version lane (npm run test:bpftrace-versions). */
export const BPFTRACE = process.env.MCPTRACE_BPFTRACE || 'bpftrace';
/** Its absolute path, as mcptrace names it in messages. */
export const BPFTRACE_PATH = BPFTRACE.includes('/')
  ? BPFTRACE
  : ((process.env.PATH ?? '')
      .split(':')
      .map((d) => `${d}/bpftrace`)
      .find((p) => existsSync(p)) ?? '/usr/bin/bpftrace');

/**
 * Whether real kernel tracing works here. In CI a missing environment is a failure, never a
 * silent skip; elsewhere the skip is announced on stderr.
 */
function probeKernel(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  try {
    execFileSync(BPFTRACE, ['--version'], { stdio: 'pipe' });
  } catch {
    return {
      ok: false,
      reason: `${BPFTRACE} is not installed (apt-get install -y bpftrace libbpf-tools; for a version lane: bash scripts/setup-bpftrace-roots.sh)`,
    };
  }
  try {
    if (readdirSync('/sys/kernel/tracing').length === 0) throw new Error();
  } catch {
    return { ok: false, reason: 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)' };
  }
  try {
    execFileSync(BPFTRACE, ['-e', 'BEGIN { exit(); }'], { stdio: 'pipe', timeout: 20_000 });
  } catch (e) {
    return { ok: false, reason: `bpftrace cannot run a program: ${(e as Error).message}` };
  }
  return { ok: true };
}

export const kernel = probeKernel();

if (!kernel.ok) {
  if (process.env.CI === 'true') {
    throw new Error(`Kernel tests must run in CI, but the environment is missing: ${kernel.reason}`);
  }
  process.stderr.write(`\n!!! SKIPPING kernel tests: ${kernel.reason}\n\n`);
}

/**
 * The arguments that make `bin` compile a program file without attaching it. 0.27's
 * `--emit-elf` writes the file and then runs the program, so from 0.25 it is `--mode codegen`,
 * the compile check's own choice (compileOnlyArgs in src/runtime/bpftrace/version.ts).
 */
export function compileOnlyArgs(bin: string, elf: string): string[] {
  let version = OLDEST_SUPPORTED;
  try {
    version = parseVersion(execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: 'pipe' })) ?? OLDEST_SUPPORTED;
  } catch {
    // An unrunnable binary fails in the compile itself, with its own message.
  }
  return featureArgs(featuresOf(version), elf);
}

/** describe() for tests that run real bpftrace or bcc tools. */
export const describeKernel = describe.skipIf(!kernel.ok);

/** Pids of processes whose command line contains `marker` (a unique string in a program). */
export function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(marker) && !cmd.includes('vitest')) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

export async function waitFor(cond: () => boolean, ms: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}
