import type { JsonSchema } from './types.js';

const COMMON_REF = /^common\.json#\/\$defs\/([A-Za-z0-9_]+)$/;

export interface RefProblem {
  pointer: string;
  message: string;
}

/**
 * Inlines `$ref: common.json#/$defs/NAME` so each tool's inputSchema is self-contained:
 * MCP clients do not resolve external references. Sibling keywords override the shared
 * definition (a manifest may reword a description or change a default).
 */
export function inlineCommonRefs(schema: unknown, defs: Record<string, JsonSchema>, pointer: string, problems: RefProblem[]): unknown {
  if (Array.isArray(schema)) return schema.map((s, i) => inlineCommonRefs(s, defs, `${pointer}/${i}`, problems));
  if (!schema || typeof schema !== 'object') return schema;
  const obj = schema as Record<string, unknown>;
  let out: Record<string, unknown> = {};
  if (typeof obj.$ref === 'string') {
    const m = COMMON_REF.exec(obj.$ref);
    const def = m ? defs[m[1]] : undefined;
    if (!def) {
      problems.push({
        pointer: `${pointer}/$ref`,
        message: m
          ? `unknown shared parameter "${m[1]}"; valid names are: ${Object.keys(defs).join(', ')}`
          : `unsupported $ref "${obj.$ref}"; only common.json#/$defs/NAME is allowed (names: ${Object.keys(defs).join(', ')})`,
      });
    } else {
      // A shared definition may itself use another (execution_result's compile_error).
      out = inlineCommonRefs(structuredClone(def), defs, pointer, problems) as Record<string, unknown>;
    }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$ref') continue;
    out[k] = inlineCommonRefs(v, defs, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, problems);
  }
  return out;
}
