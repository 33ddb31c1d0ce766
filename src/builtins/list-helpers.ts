import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../config/paths.js';
import { yamlLib } from '../manifest/lazy-libs.js';
import { defineBuiltin } from './builtin.js';

interface Entry {
  name: string;
  description: string;
  signature?: string;
  type?: string;
  since?: string;
  unsafe?: boolean;
}
interface Reference {
  variables: Entry[];
  functions: Entry[];
  map_functions: Entry[];
}

let reference: Reference | undefined;
const load = (): Reference => (reference ??= yamlLib().parse(readFileSync(path.join(KNOWLEDGE_DIR, 'bpftrace-builtins.yaml'), 'utf8')) as Reference);

interface Input {
  kind?: 'variable' | 'function' | 'map_function';
  filter?: string;
}

/** MCPtrace's list_helpers: bpftrace's builtin variables and functions, with what each does. */
export default defineBuiltin<Input>({
  handler: 'list_helpers',
  async run(input) {
    const ref = load();
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
