import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bpftraceArgv } from '../runtime/bpftrace/command.js';
import { compileOnlyArgs } from '../runtime/bpftrace/version.js';
import type { Preflight } from '../runtime/environment.js';
import { runToCompletion } from '../runtime/subprocess.js';

export interface CompileOutcome {
  ok: boolean;
  exitCode: number | null;
  /** bpftrace's stderr, as printed. */
  stderr: string;
  /** The program's path as bpftrace names it in its messages. */
  file: string;
  ms: number;
}

/** Long enough for a wildcard over hundreds of tracepoints; a compile never attaches. */
const COMPILE_TIMEOUT_MS = 30_000;

/**
 * Compiles a program without attaching anything: the program goes to a file in a private
 * temp dir (argv only, nothing through a shell), which is removed afterwards. The wrappers for
 * newer bpftrace run it in a chroot that shares /tmp, so the same path resolves there.
 */
export async function compileCheck(pre: Preflight, program: string): Promise<CompileOutcome> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcptrace-validate-'));
  const file = path.join(dir, 'program.bt');
  const started = performance.now();
  try {
    await writeFile(file, program, { mode: 0o600 });
    // Through the privileged helper the program goes as -e and the ELF to /dev/null: the helper
    // reads no file a caller names and writes none (its errors say "stdin:", which is ours too).
    const argv = pre.helper
      ? bpftraceArgv(pre, [...compileOnlyArgs(pre.features, '/dev/null'), '-e', program])
      : bpftraceArgv(pre, [...compileOnlyArgs(pre.features, path.join(dir, 'program.o')), file]);
    const r = await runToCompletion(argv[0], argv.slice(1), { timeout: COMPILE_TIMEOUT_MS, killSignal: 'SIGINT', stdout: 'ignore' });
    const exitCode = typeof r.exitCode === 'number' ? r.exitCode : null;
    return { ok: exitCode === 0 && !r.timedOut, exitCode, stderr: String(r.stderr ?? ''), file, ms: performance.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
