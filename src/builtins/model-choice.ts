import { chooseProvider } from '../model/choose.js';
import { ModelError, type ModelProvider } from '../model/provider.js';
import { errorResult, type CallContext, type ToolResult } from '../results/tool-result.js';
import type { BuiltinContext } from './builtin.js';

/**
 * The model for one call of a builtin that asks one (generate_program, explain_result): the
 * provider, none (undefined: the caller returns its prompt), or a configuration error as a
 * result that says what to set.
 */
export function modelFor(model: string | undefined, ctx: BuiltinContext, call: CallContext): { provider: ModelProvider | undefined } | { error: ToolResult } {
  try {
    return { provider: chooseProvider({ env: ctx.env, model, sample: call.sample }) };
  } catch (e) {
    if (e instanceof ModelError) return { error: errorResult(`${e.message}. ${e.hint}`, 'environment', { kind: e.kind }) };
    throw e;
  }
}
