import type { LaunchSpec } from '../runtime/process-lifecycle.js';
import { analyzeProgram, type ProgramValidator } from './validator.js';

/**
 * A run's spec whose failure diagnosis also carries the validator's located errors and fixes,
 * parsed from the run's own stderr (bpftrace -e names the program "stdin"). Only a failed run
 * pays for it; a run that compiles costs nothing more.
 */
export function withDiagnosis(spec: LaunchSpec, program: string, validator: ProgramValidator): LaunchSpec {
  const base = spec.diagnose;
  return {
    ...spec,
    diagnose: async (stderr) => {
      const d = (await base?.(stderr)) ?? { error: stderr.slice(-10).join('\n') || 'the process failed without printing an error' };
      const { errors } = await validator.diagnose(analyzeProgram(program), stderr.join('\n'), 'stdin').catch(() => ({ errors: [] }));
      if (!errors.length) return d;
      const first = errors.find((e) => e.suggestion);
      const fix = first?.suggestion ? `${first.line !== null ? `at line ${first.line}:${first.column ?? 1}: ` : ''}${first.suggestion}` : undefined;
      return { ...d, hint: fix ?? d.hint, errors };
    },
  };
}
