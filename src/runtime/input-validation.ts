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
    const got = arg ? ` (got ${JSON.stringify(e.data)})` : '';
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
