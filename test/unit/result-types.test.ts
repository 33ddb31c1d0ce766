import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXECUTION_RESULT_FIELDS } from '../../src/results/execution-view.js';

describe('typed results', () => {
  it('ExecutionResult (TypeScript) and execution_result (the advertised schema) name the same fields', () => {
    const common = JSON.parse(readFileSync(path.join(__dirname, '../../schemas/common.json'), 'utf8'));
    const schema = common.$defs.execution_result as { properties: object; required: string[] };
    expect(Object.keys(EXECUTION_RESULT_FIELDS).sort()).toEqual(Object.keys(schema.properties).sort());
    for (const r of schema.required) expect(EXECUTION_RESULT_FIELDS).toHaveProperty(r);
  });
});
