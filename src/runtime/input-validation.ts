import type { ErrorObject, ValidateFunction } from 'ajv';
import { createStrictAjv } from './ajv.js';
import type { JsonSchema, Prepared } from '../manifest/types.js';

// Defaults are applied here, once, so MCP and the CLI see the same effective input.
const ajv = createStrictAjv({ useDefaults: true, strictTypes: false, strictRequired: false, strictTuples: false });

/** Compiles a tool's input schema; throws Ajv's message when the schema itself is invalid. */
export function compileInputValidator(toolName: string, schema: JsonSchema): Prepared['validateInput'] {
  const validate: ValidateFunction = ajv.compile(schema);
  return (input) => {
    const value = structuredClone(input ?? {}) as Record<string, unknown>;
    if (validate(value)) return { ok: true, value };
    return { ok: false, message: formatInputErrors(toolName, schema, validate.errors ?? []) };
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
