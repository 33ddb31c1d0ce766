import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  name: string;
  params?: Record<string, unknown>;
}

/** A template's program for given params, without running it: to read, adapt, or pass to exec_program. */
export default defineBuiltin<Input>({
  handler: 'render_template',
  async run(input, ctx) {
    const r = ctx.templates.render(input.name, input.params ?? {});
    if (!r.ok) return errorResult(r.message, r.kind);
    const v = r.value;
    const notes = [`// ${v.tool} (${v.template}); probes: ${v.probes.join(', ')}`, ...(v.unavailable ? [`// not runnable here: ${v.unavailable}`] : [])];
    return { structured: { ...v }, text: `${notes.join('\n')}\n${v.program}` };
  },
});
