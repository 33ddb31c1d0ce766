import { builtinsReference } from '../validation/builtins-reference.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  kind?: 'variable' | 'function' | 'map_function';
  filter?: string;
}

/** MCPtrace's list_helpers: bpftrace's builtin variables and functions, with what each does. */
export default defineBuiltin<Input>({
  handler: 'list_helpers',
  async run(input) {
    const ref = builtinsReference();
    const all = [
      ...ref.variables.map((e) => ({ ...e, kind: 'variable' as const })),
      ...ref.functions.map((e) => ({ ...e, kind: 'function' as const })),
      ...ref.map_functions.map((e) => ({ ...e, kind: 'map_function' as const })),
    ];
    const needle = input.filter?.toLowerCase();
    const helpers = all
      .filter((e) => !input.kind || e.kind === input.kind)
      .filter((e) => !needle || `${e.name} ${e.description}`.toLowerCase().includes(needle))
      .map((e) => ({
        name: e.name,
        kind: e.kind,
        description: e.description,
        ...(e.signature ? { signature: e.signature } : {}),
        ...(e.type ? { type: e.type } : {}),
        ...(e.since ? { since: e.since } : {}),
        ...(e.unsafe ? { unsafe: true } : {}),
      }));
    const text = helpers.length
      ? helpers
          .map((h) => `${(h.signature ?? h.name).padEnd(34)} ${h.description}${h.since ? ` (bpftrace ${h.since}+)` : ''}${h.unsafe ? ' [needs --unsafe]' : ''}`)
          .join('\n')
      : `no helper matches "${input.filter}"; call list_helpers without a filter for all of them`;
    return { structured: { helpers, count: helpers.length }, text };
  },
});
