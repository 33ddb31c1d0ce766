import { BUILTINS } from '../builtins/index.js';
import type { BuiltinTool } from '../builtins/builtin.js';
import type { CallableKind } from './kind.js';

/** A tool implemented in src/builtins, named by `run.handler`. */
export const builtinKind: CallableKind<BuiltinTool> = {
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
  sessionScoped: (tool) => tool.prepared.sessionScoped === true,
  call(tool, input, ctx, call) {
    return tool.prepared.run(input, ctx, call);
  },
};
