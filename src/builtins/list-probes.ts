import { EnvironmentError } from '../runtime/environment.js';
import { ListingError } from '../runtime/probe-cache.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  filter?: string;
  limit: number;
  offset: number;
}

export default defineBuiltin<Input>({
  handler: 'list_probes',
  async run(input, ctx) {
    let probes: string[];
    try {
      probes = await ctx.probes.search(input.filter);
    } catch (e) {
      return errorResult((e as Error).message, e instanceof EnvironmentError ? 'environment' : e instanceof ListingError ? 'input' : 'failed');
    }
    const page = probes.slice(input.offset, input.offset + input.limit);
    const structured: Record<string, unknown> = {
      filter: input.filter ?? null,
      probes: page,
      count: page.length,
      total: probes.length,
      offset: input.offset,
      has_more: input.offset + page.length < probes.length,
    };
    let text = page.join('\n') || `no probes match "${input.filter}"; try a wider pattern such as "tracepoint:syscalls:*open*" or "*sched*"`;
    // One exact probe: its arguments are what a program author needs next.
    if (probes.length === 1 && input.filter && !input.filter.includes('*')) {
      const detail = await ctx.probes.detail(probes[0]);
      if (detail) {
        structured.detail = detail;
        text = [detail.probe, ...detail.args.map((a) => `    ${a}`)].join('\n');
      }
    }
    if (structured.has_more) text += `\n-- ${page.length} of ${probes.length} probes; call again with offset ${input.offset + page.length} for more`;
    return { structured, text };
  },
});
