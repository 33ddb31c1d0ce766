import { EnvironmentError } from '../runtime/environment.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  goal: string;
  probe_types?: string[];
  limit: number;
}

export default defineBuiltin<Input>({
  handler: 'discover_probes',
  async run(input, ctx) {
    const goal = input.goal.trim();
    let found;
    try {
      found = await ctx.knowledge.discover(goal, { limit: input.limit, types: input.probe_types });
    } catch (e) {
      return errorResult((e as Error).message, e instanceof EnvironmentError ? 'environment' : 'failed');
    }
    if (!found.count) {
      const types = input.probe_types?.length ? ` of type ${input.probe_types.join(', ')}` : '';
      return {
        structured: found as unknown as Record<string, unknown>,
        text: `no probe${types} on this kernel fits "${goal}". Name the subsystem or the event (e.g. "block io", "tcp retransmit", "sched switch"), drop probe_types, or list probes by glob with list_probes.`,
      };
    }
    const text = found.groups
      .map((g) =>
        [
          `${g.subsystem}${g.description ? `: ${g.description}` : ''}`,
          ...g.probes.flatMap((p) => [
            `  ${p.probe}  ${p.description}`,
            ...(p.args.length ? [`      args: ${p.args.join('; ')}`] : []),
            ...(p.pair ? [`      pair: ${p.pair.entry} -> ${p.pair.exit} (${p.pair.use})`] : []),
          ]),
        ].join('\n'),
      )
      .join('\n\n');
    const concepts = found.concepts.length ? `concepts: ${found.concepts.join(', ')}\n\n` : '';
    return { structured: found as unknown as Record<string, unknown>, text: `${concepts}${text}` };
  },
});
