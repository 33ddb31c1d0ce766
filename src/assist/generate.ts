import { GENERATE_DEFAULT_ATTEMPTS } from '../config/defaults.js';
import { extractProgram } from '../model/extract.js';
import { ModelError, type ChatMessage, type ModelProvider } from '../model/provider.js';
import type { Policy, SafetyReport } from '../policy/policy.js';
import type { FixChange } from '../validation/fix.js';
import type { Diagnostic } from '../validation/taxonomy.js';
import { analyzeProgram, type CheckReport } from '../validation/validator.js';
import type { TracePlan } from './plan.js';
import { systemPrompt } from './prompts.js';

/** The compile check a generation loop needs (ProgramValidator.check). */
export interface ProgramChecker {
  check(program: string): Promise<CheckReport>;
  /** A mechanical fix that compiles (ProgramValidator.fix), saving the model a round trip. */
  fix?(program: string, report: CheckReport): Promise<{ program: string; changes: FixChange[] } | undefined>;
}

/** One try: the model's program and what validation said of it. */
export interface Attempt {
  attempt: number;
  program: string | null;
  ok: boolean;
  /** What was wrong, located, as the model was told. */
  problems: string[];
  errors: Pick<Diagnostic, 'category' | 'message' | 'line' | 'column' | 'suggestion'>[];
  safety: SafetyReport['verdict'] | null;
  /** mcptrace's mechanical fix of the model's program (validate_program's fixed_program), when one compiled. */
  fixed?: { program: string; changes: FixChange[] };
}

export interface Generation {
  goal: string;
  /** `model`: a model wrote it; `prompt`: no model here, the prompt is returned for the caller to answer. */
  mode: 'model' | 'prompt';
  ok: boolean;
  program: string | null;
  attempts: Attempt[];
  model?: { provider: string; name: string };
  /** The last program's validation, as validate_program reports it. */
  validation?: { valid: boolean; errors: Attempt['errors']; warnings: string[]; probes: CheckReport['probes']; safety: SafetyReport };
  /** Without a model: what to send to one (or to answer yourself), then check with validate_program. */
  prompt?: { system: string; user: string };
  error?: { kind: string; message: string; hint: string };
}

/** The user message: the request and the plan, as compact JSON the model can read. */
export function generationPrompt(goal: string, plan: TracePlan): ChatMessage[] {
  const context = {
    bpftrace_version: plan.bpftrace_version,
    kernel: plan.kernel,
    templates: plan.templates.map((t) => ({ tool: t.tool, purpose: t.purpose, probes: t.probes })),
    examples: plan.examples.map((e) => ({ title: e.title, probes: e.probes, runs_here: e.runs_here, program: e.program, adapt: e.adapt })),
    probes: plan.probes.map((p) => ({ probe: p.probe, args: p.args, pair: p.pair?.use })),
    pitfalls: plan.pitfalls,
  };
  return [
    { role: 'system', content: systemPrompt('generate') },
    { role: 'user', content: `Request: ${goal}\n\nWhat this machine offers (JSON):\n${JSON.stringify(context, null, 1)}` },
  ];
}

const located = (e: { line: number | null; column: number | null; message: string; suggestion: string | null }) =>
  `${e.line !== null ? `line ${e.line}:${e.column ?? 1}: ` : ''}${e.message}${e.suggestion ? ` (fix: ${e.suggestion})` : ''}`;

/**
 * Retrieve, ask, validate, feed the located errors back, retry: GPTtrace's loop, with
 * mcptrace's validator as the judge. A program passes when bpftrace compiles it, every probe it
 * names exists on this kernel, and the safety policy does not refuse it. Nothing runs.
 */
export async function generateProgram(opts: {
  goal: string;
  plan: TracePlan;
  provider: ModelProvider | undefined;
  checker: ProgramChecker;
  policy: Policy;
  attempts?: number;
  signal?: AbortSignal;
}): Promise<Generation> {
  const messages = generationPrompt(opts.goal, opts.plan);
  if (!opts.provider) {
    return { goal: opts.goal, mode: 'prompt', ok: false, program: null, attempts: [], prompt: { system: messages[0].content, user: messages[1].content } };
  }
  const out: Generation = {
    goal: opts.goal,
    mode: 'model',
    ok: false,
    program: null,
    attempts: [],
    model: { provider: opts.provider.name, name: opts.provider.describe },
  };
  const max = opts.attempts ?? GENERATE_DEFAULT_ATTEMPTS;
  for (let n = 1; n <= max; n++) {
    let answer;
    try {
      answer = await opts.provider.complete(messages, { signal: opts.signal, maxTokens: 1500 });
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      out.error = { kind: e.kind, message: e.message, hint: e.hint };
      return out;
    }
    if (out.model) out.model.name = answer.model;
    messages.push({ role: 'assistant', content: answer.text });
    const program = extractProgram(answer.text);
    if (!program) {
      const problem = 'the answer has no bpftrace program: answer with one program in a ```bpftrace fenced block';
      out.attempts.push({ attempt: n, program: null, ok: false, problems: [problem], errors: [], safety: null });
      messages.push({ role: 'user', content: `That answer ${problem.slice(4)}.` });
      continue;
    }
    const judged = await judge(program, opts.checker, opts.policy);
    const attempt: Attempt = {
      attempt: n,
      program,
      ok: judged.ok,
      problems: judged.problems,
      errors: judged.validation.errors,
      safety: judged.validation.safety.verdict,
    };
    out.attempts.push(attempt);
    out.program = program;
    out.validation = judged.validation;
    if (judged.ok) {
      out.ok = true;
      return out;
    }
    // A mistake with a mechanical fix (= for ==, str() on a field, a DTrace idiom) is fixed here
    // and judged again, rather than sent back to the model.
    const fixed = judged.report.valid ? undefined : await opts.checker.fix?.(program, judged.report).catch(() => undefined);
    if (fixed) {
      const again = await judge(fixed.program, opts.checker, opts.policy);
      if (again.ok) {
        attempt.fixed = fixed;
        out.program = fixed.program;
        out.validation = again.validation;
        out.ok = true;
        return out;
      }
    }
    messages.push({
      role: 'user',
      content: `That program does not pass validation on this machine:\n${judged.problems.map((p) => `- ${p}`).join('\n')}\nFix these and answer with the whole corrected program in one \`\`\`bpftrace block.`,
    });
  }
  return out;
}

/** validate_program's judgement of one program, and the problems a model can act on. */
async function judge(program: string, checker: ProgramChecker, policy: Policy) {
  const report = await checker.check(program);
  const counts = new Map(report.probes.map((p) => [p.pattern, p.count]));
  const safety = policy.evaluate({ tool: 'exec_program', argv: [], program: analyzeProgram(program), probeCounts: counts });
  const errors = report.errors.map(({ category, message, line, column, suggestion }) => ({ category, message, line, column, suggestion }));
  const problems = errors.map((e) => `[${e.category}] ${located(e)}`);
  for (const p of report.probes)
    if (!p.exists && report.valid) problems.push(`${p.pattern} matches no probe on this kernel: use one of the probes listed in the plan`);
  for (const f of safety.findings.filter((f) => f.decision === 'refuse')) problems.push(`refused by the safety policy (${f.rule}): ${f.message} ${f.remedy}`);
  return {
    ok: problems.length === 0,
    report,
    problems,
    validation: { valid: report.valid, errors, warnings: report.warnings.map(located), probes: report.probes, safety },
  };
}
