import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script with no type declarations; npm run eval:search runs the same code.
import { evaluate } from '../../scripts/eval-search.mjs';

interface Row {
  split: string;
  top3: boolean;
}

const rate = (rows: Row[]) => rows.filter((r) => r.top3).length / rows.length;

describe('search quality on the public query set (npm run eval:search prints the full table)', () => {
  it('finds a relevant example in the top 3 for at least 95% of the tuned queries and 80% of each held-out set', async () => {
    const { rows } = (await evaluate(path.resolve(__dirname, 'queries.yaml'))) as { rows: Row[] };
    expect(rows.length).toBeGreaterThanOrEqual(60);
    expect(rate(rows.filter((r) => r.split === 'tune'))).toBeGreaterThanOrEqual(0.95);
    for (const split of ['heldout', 'heldout2', 'heldout3']) expect(rate(rows.filter((r) => r.split === split)), split).toBeGreaterThanOrEqual(0.8);
  });
});
