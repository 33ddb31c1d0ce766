import type { Execution, RefusedProvider } from './execution.js';
import type { LaunchSpec } from './process-lifecycle.js';
import type { ProcessExit } from './spawner.js';

/** How many of a refused provider's last stderr lines the run keeps. */
const REFUSAL_STDERR_LINES = 12;

/** The provider to run next, as the caller (the core) has checked it: its spec, its name, what its pre-run hooks said. */
export interface NextProvider {
  spec: LaunchSpec;
  variant: string;
  warnings?: readonly string[];
}

/**
 * A LaunchSpec's `fallback`: when the kernel refused this provider as it started, `next` is
 * asked for the one after it, which then runs in the same Execution (one execution_id), with
 * the refusal kept in the run (refused_variants in its result).
 *
 * "Refused at start-up" is all of:
 * - the process exited by itself with a non-zero code (not a signal, not a spawn error);
 * - nobody asked it to stop, except the run's own planned end (a duration shorter than a slow
 *   start-up under emulation): a caller's stop or the safety timeout is the caller's answer;
 * - it printed nothing on stdout and never reported its probes attached: a tool that ran and
 *   then failed is that run's failure, not a provider the kernel refused, and its output stands;
 * - its own diagnosis (the kind's `diagnose`, from its stderr) says the kernel refused the
 *   program: a function or BTF type missing, a probe that cannot attach, a verifier refusal.
 *   A bad argument (usage errors) or a crash is not, and ends the run as before.
 */
export function providerFallback(spec: LaunchSpec, next: (refused: RefusedProvider) => Promise<NextProvider | undefined>): NonNullable<LaunchSpec['fallback']> {
  return async (exec: Execution, exit: ProcessExit) => {
    if (exit.spawnError || exit.signal || !exit.exitCode) return undefined;
    if (!startingUp(exec)) return undefined;
    const stderr = exec.stderr.map((l) => l.text);
    const d = await spec.diagnose?.(stderr);
    if (!d?.refused) return undefined;
    const refused: RefusedProvider = {
      variant: exec.variant ?? spec.argv[0],
      command: exec.commandLine,
      exitCode: exit.exitCode,
      error: d.error,
      ...(d.hint ? { hint: d.hint } : {}),
      stderr: stderr.slice(-REFUSAL_STDERR_LINES),
    };
    const chosen = await next(refused);
    // A stop asked for while the next provider was chosen ends the run here, with the refusal.
    if (!chosen || !startingUp(exec)) return undefined;
    exec.nextProvider(refused, chosen.variant, chosen.spec.argv.join(' '), chosen.warnings);
    return chosen.spec;
  };
}

const startingUp = (exec: Execution) =>
  !exec.finished && (exec.stopReason === undefined || exec.stopReason === 'duration') && exec.lines.length === 0 && exec.attachedAt === undefined;
