import { BUILTINS, type BuiltinEntry } from '../builtins/index.js';
import type { CallableKind } from './kind.js';

/** A tool implemented in src/builtins, named by `run.handler`; its module loads on its first call. */
export const builtinKind: CallableKind<BuiltinEntry> = {
  name: 'builtin',
  runnable: false,
  runSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['handler'],
    properties: { handler: { type: 'string', pattern: '^[a-z_]+$' } },
  },
  prepare(ctx) {
    const handler = String(ctx.def.run.handler);
    const b = BUILTINS.get(handler);
    if (!b) ctx.problem('/run/handler', `unknown builtin handler "${handler}"; available: ${[...BUILTINS.keys()].join(', ')}`, 'run');
    return b;
  },
  sessionScoped: (tool) => tool.prepared.sessionScoped,
  async call(tool, input, ctx, call) {
    return (await tool.prepared.load()).run(input, ctx, call);
  },
};
