import { planTrace, type TracePlan } from '../assist/plan.js';
import { kernelFeatures } from '../runtime/environment.js';
import type { BuiltinContext } from './builtin.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  goal: string;
  budget_tokens: number;
}

/** The plan for a goal on this machine; shared by plan_trace, generate_program and `ask`. */
export async function planFor(goal: string, ctx: BuiltinContext, budgetTokens: number): Promise<TracePlan> {
  const features = await ctx.preflight().then(
    (p) => p.features,
    () => undefined,
  );
  const k = kernelFeatures();
  return planTrace(goal, { knowledge: ctx.knowledge, templates: ctx.templates, features, kernel: { kprobes: k.kprobes, btf: k.btf } }, budgetTokens, planText);
}

export function planText(p: TracePlan): string {
  const out: string[] = [`plan for "${p.goal}" (bpftrace ${p.bpftrace_version ?? 'not runnable here'}, kprobes ${p.kernel.kprobes ? 'yes' : 'no'})`];
  if (p.templates.length) {
    out.push('templates:');
    for (const t of p.templates) out.push(`  ${t.tool}: ${t.purpose}\n    call with ${JSON.stringify(t.suggested_input)}`);
  }
  if (p.examples.length) {
    out.push('examples:');
    for (const e of p.examples) {
      out.push(`  ${e.id} — ${e.title}${e.runs_here ? '' : ' (does not run here as it is)'}; ${e.adapt.join('; ')}`);
      if (e.program) out.push(e.program.replace(/^/gm, '      '));
    }
  }
  if (p.probes.length) {
    out.push('probes on this kernel:');
    for (const pr of p.probes)
      out.push(
        `  ${pr.probe}${pr.description ? ` — ${pr.description}` : ''}${pr.args.length ? `\n    args: ${pr.args.join(', ')}` : ''}${pr.pair ? `\n    pair: ${pr.pair.use}` : ''}`,
      );
  }
  if (p.pitfalls.length) out.push('pitfalls:', ...p.pitfalls.map((x) => `  - ${x}`));
  out.push('next:', ...p.next_steps.map((x) => `  - ${x}`));
  out.push(`(≈${p.budget.used} of ${p.budget.tokens} tokens${p.budget.trimmed.length ? `; trimmed: ${p.budget.trimmed.join(', ')}` : ''})`);
  return out.join('\n');
}

export default defineBuiltin<Input>({
  handler: 'plan_trace',
  async run(input, ctx) {
    const plan = await planFor(input.goal.trim(), ctx, input.budget_tokens);
    return { structured: plan as unknown as Record<string, unknown>, text: planText(plan) };
  },
});
