import type { ErrorObject, ValidateFunction } from 'ajv';
import { ajv } from '../manifest/ajv.js';
import type { JsonSchema } from '../manifest/types.js';

export type InputValidator = (input: unknown) => { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/**
 * Compiles a tool's input schema (already checked against the meta-schema by the manifest
 * loader) on first use: compiling every tool's schema at start-up is most of the server's load
 * time, and most tools are never called in a session. `eager` compiles now, throwing Ajv's
 * strict-mode message (e.g. an unknown keyword) for the linter to report.
 */
export function compileInputValidator(toolName: string, schema: JsonSchema, opts: { eager?: boolean } = {}): InputValidator {
  let validate: ValidateFunction | undefined;
  const compile = () => (validate ??= ajv.compile(schema));
  if (opts.eager) compile();
  return (input) => {
    // Checked before anything recurses into it: 5,000 levels overflowed the stack, and the
    // error then blamed the tool's manifest.
    if (nestingDepth(input, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH) {
      return {
        ok: false,
        message: `Invalid input for ${toolName}: arguments nest more than ${MAX_INPUT_DEPTH} levels deep; no tool takes nested values that deep`,
      };
    }
    const value = structuredClone(input ?? {}) as Record<string, unknown>;
    const v = compile();
    if (v(value)) return { ok: true, value };
    return { ok: false, message: formatInputErrors(toolName, schema, v.errors ?? []) };
  };
}

/**
 * One message per problem, each naming the argument, what is wrong and the valid values,
 * so that an assistant can correct the call from the text alone.
 */
export function formatInputErrors(toolName: string, schema: JsonSchema, errors: ErrorObject[]): string {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const lines = errors.map((e) => {
    const arg = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
    const got = arg ? ` (got ${shortJson(e.data)})` : '';
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        return `missing required argument "${missing}"${describe(props[missing])}`;
      }
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        return `unknown argument "${extra}"; valid arguments: ${Object.keys(props).join(', ')}`;
      }
      case 'enum':
        return `invalid value for "${arg}"${got}: valid values are ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      default:
        return `invalid value for "${arg || 'input'}"${got}: ${e.message}`;
    }
  });
  return `Invalid input for ${toolName}:\n- ${lines.join('\n- ')}`;
}

function describe(prop: JsonSchema | undefined): string {
  if (!prop) return '';
  const type = prop.type ? ` (${String(prop.type)})` : '';
  return prop.description ? `${type}: ${String(prop.description)}` : type;
}

/** Input deeper than this is refused before validation. */
const MAX_INPUT_DEPTH = 32;

/** How deep `v` nests, counting no further than `limit + 1` (iterative: no recursion to overflow). */
function nestingDepth(v: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    if (x && typeof x === 'object') for (const c of Object.values(x)) if (c && typeof c === 'object') stack.push([c, d + 1]);
  }
  return deepest;
}

/** A value as JSON for a message, cut short: a 9 MB argument was once echoed back whole. */
function shortJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 160)}… (${s.length} characters)` : s;
}
