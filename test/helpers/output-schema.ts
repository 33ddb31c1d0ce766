import { Ajv } from 'ajv';
import { expect } from 'vitest';
import type { Core } from '../../src/core/core.js';
import type { ToolResult } from '../../src/results/tool-result.js';

const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map<object, ReturnType<Ajv['compile']>>();

/**
 * Asserts that a tool's structured result matches the outputSchema it advertises, as an MCP
 * client checks it: every result that travels as structuredContent (errors other than a failed
 * run travel as text).
 */
export function expectConforms(core: Core, tool: string, r: ToolResult): void {
  const schema = core.tool(tool)?.def.output;
  const travelsStructured = !r.isError || 'execution_id' in r.structured;
  if (!schema || !travelsStructured) return;
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  const ok = v(r.structured);
  expect(ok, `${tool} result does not match its outputSchema: ${ajv.errorsText(v.errors)}`).toBe(true);
}
