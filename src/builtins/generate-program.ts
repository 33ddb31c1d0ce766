import { generateProgram, type Generation } from '../assist/generate.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';
import { modelFor } from './model-choice.js';
import { planFor } from './plan-trace.js';

interface Input {
  goal: string;
  attempts: number;
  model?: string;
}

export function generationText(g: Generation): string {
  if (g.mode === 'prompt') {
    return [
      'no model is configured here (OPENAI_BASE_URL / MCPTRACE_MODEL) and the client offers no sampling: write the program yourself from this prompt,',
      'then check it with validate_program and run it with exec_program.',
      '--- system',
      g.prompt!.system,
      '--- user',
      g.prompt!.user,
    ].join('\n');
  }
  const out: string[] = [];
  for (const a of g.attempts) out.push(`attempt ${a.attempt}: ${a.ok ? 'passes validation' : `failed: ${a.problems.join('; ')}`}`);
  if (g.error) out.push(`model error (${g.error.kind}): ${g.error.message}\n  fix: ${g.error.hint}`);
  if (g.program) out.push(`${g.ok ? 'program (compiles here, not run):' : 'last program (does not pass validation):'}\n${g.program}`);
  if (g.ok) out.push('run it with exec_program (wait: true and a timeout), then explain_result.');
  return out.join('\n');
}

export default defineBuiltin<Input>({
  handler: 'generate_program',
  async run(input, ctx, call) {
    const chosen = modelFor(input.model, ctx, call);
    if ('error' in chosen) return chosen.error;
    const provider = chosen.provider;
    const goal = input.goal.trim();
    const plan = await planFor(goal, ctx, 1500);
    const g = await generateProgram({ goal, plan, provider, checker: ctx.validator, policy: ctx.policy, attempts: input.attempts, signal: call.signal });
    const structured = g as unknown as Record<string, unknown>;
    // A provider error before any program is an error result the assistant can act on.
    if (g.error && !g.program)
      return { ...errorResult(`${g.error.message}. ${g.error.hint}`, g.error.kind === 'config' ? 'environment' : 'failed'), structured };
    return { structured, text: generationText(g) };
  },
});
