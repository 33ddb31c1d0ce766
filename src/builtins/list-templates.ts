import { defineBuiltin } from './builtin.js';

interface Input {
  filter?: string;
}

/** The template tools: what each traces, its parameters and an example call. */
export default defineBuiltin<Input>({
  handler: 'list_templates',
  async run(input, ctx) {
    const needle = input.filter?.toLowerCase();
    const templates = ctx.templates.list().filter((t) => !needle || `${t.name} ${t.title} ${t.purpose}`.toLowerCase().includes(needle));
    const text = templates.length
      ? templates
          .map((t) => {
            const params = t.parameters.map((p) => `${p.name}${p.required ? '' : '?'}: ${p.type}`).join(', ');
            const needs = t.requires.length ? ` [needs ${t.requires.join(', ')}]` : '';
            return `${t.name.padEnd(28)} ${t.purpose}${needs}\n${' '.repeat(29)}(${params})${t.example ? ` e.g. ${JSON.stringify(t.example.input)}` : ''}`;
          })
          .join('\n')
      : `no template matches "${input.filter}"; call list_templates without a filter for all of them`;
    return { structured: { templates, count: templates.length }, text };
  },
});
