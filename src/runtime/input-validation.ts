import type { ErrorObject, ValidateFunction } from 'ajv';
import { validateJsonSchema } from '../generated/validators.js';
import { ajv } from './ajv.js';
import type { JsonSchema, Prepared } from '../manifest/types.js';

/**
 * Checks a tool's input schema against the JSON Schema meta-schema now (throwing Ajv's message
 * when it is invalid) and compiles it on first use: compiling every tool's schema at start-up
 * is most of the server's load time, and most tools are never called in a session.
 */
export function compileInputValidator(toolName: string, schema: JsonSchema, opts: { eager?: boolean } = {}): Prepared['validateInput'] {
  if (!validateJsonSchema(schema)) throw new Error(ajv.errorsText(validateJsonSchema.errors, { dataVar: 'input' }));
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
