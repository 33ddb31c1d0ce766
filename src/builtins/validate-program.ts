import { EnvironmentError } from '../runtime/environment.js';
import { errorResult } from '../results/tool-result.js';
import type { Finding, SafetyLevel } from '../policy/policy.js';
import type { Diagnostic } from '../validation/taxonomy.js';
import { analyzeProgram } from '../validation/validator.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  program: string;
  safety_level?: SafetyLevel;
}

const publicDiagnostic = ({ category, message, line, column, snippet, suggestion }: Diagnostic) => ({ category, message, line, column, snippet, suggestion });

const place = (d: { line: number | null; column: number | null }) => (d.line !== null ? `${d.line}:${d.column ?? 1}: ` : '');

/**
 * validate_program: bpftrace's compile check (nothing attaches), the taxonomy of its errors
 * with fixes, the probes the program would attach, and the safety policy's verdict at a level.
 * A level here only changes the report: runs are judged at the level the server was started with.
 */
export default defineBuiltin<Input>({
  handler: 'validate_program',
  async run(input, ctx) {
    let check;
    try {
      check = await ctx.validator.check(input.program);
    } catch (e) {
      return errorResult((e as Error).message, e instanceof EnvironmentError ? 'environment' : 'failed');
    }
    const counts = new Map(check.probes.map((p) => [p.pattern, p.count]));
    const safety = ctx.policy.evaluate(
      { tool: 'exec_program', argv: [], program: analyzeProgram(input.program), probeCounts: counts },
      input.safety_level ?? ctx.policy.level,
    );
    // A mechanical fix is offered only once bpftrace has compiled it on this version.
    const fixed = check.valid ? undefined : await ctx.validator.fix(input.program, check).catch(() => undefined);
    // The fix, in the user's own terms, goes into the diagnosis of the line it changes.
    const errors = check.errors.map(publicDiagnostic);
    if (fixed) {
      for (const e of errors) {
        const here = fixed.changes.filter((c) => e.line === null || c.line === e.line);
        if (here.length)
          e.suggestion = `${here.map((c) => `Write ${c.now} instead of ${c.was} (${c.why}).`).join(' ')}${e.suggestion ? ` ${e.suggestion}` : ''}`;
      }
    }
    const structured = {
      valid: check.valid,
      errors,
      warnings: check.warnings.map(publicDiagnostic),
      probes: check.probes,
      safety,
      estimate: check.estimate,
      ...(fixed ? { fixed_program: { program: fixed.program, changes: fixed.changes, compiles: true } } : {}),
    };
    const out: string[] = [];
    out.push(check.valid ? 'valid: bpftrace compiles it' : `invalid: ${check.errors.length} error${check.errors.length === 1 ? '' : 's'}`);
    for (const e of errors)
      out.push(`error [${e.category}] ${place(e)}${e.message}${e.snippet ? `\n${e.snippet}` : ''}${e.suggestion ? `\n  fix: ${e.suggestion}` : ''}`);
    for (const w of check.warnings) out.push(`warning [${w.category}] ${place(w)}${w.message}${w.suggestion ? `\n  fix: ${w.suggestion}` : ''}`);
    out.push(`probes: ${check.probes.map((p) => `${p.pattern} (${p.count}${p.exists ? '' : ', none on this kernel'})`).join(', ') || 'none'}`);
    out.push(`estimate: ${check.estimate.probes} probes, ${check.estimate.maps} maps, event rate ${check.estimate.event_rate_class}`);
    out.push(`safety (${safety.level}): ${safety.verdict}`);
    for (const f of safety.findings as Finding[]) out.push(`  ${f.decision} [${f.rule}] ${place(f)}${f.message} To proceed: ${f.remedy}`);
    if (safety.confirmation) out.push(`  note: ${safety.confirmation}`);
    if (fixed) {
      out.push('fixed program (compiles with this bpftrace; check that it still means what you meant):');
      for (const c of fixed.changes) out.push(`  line ${c.line}: ${c.was} → ${c.now} (${c.why})`);
      out.push(fixed.program.replace(/^/gm, '    '));
    }
    return { structured, text: out.join('\n') };
  },
});
