import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeBuckets } from '../../src/analysis/histogram.js';
import type { Bucket } from '../../src/analysis/model.js';
import { foldStacks } from '../../src/analysis/stacks.js';
import { renderMap } from '../../src/runtime/bpftrace/map-render.js';
import { collapseStacks } from '../helpers/folded.js';

/** log2 buckets as hist() prints them: [0], [1], [2, 4), [4, 8) … */
const log2Buckets = (counts: number[]): Bucket[] =>
  counts.map((count, i) => (i === 0 ? { low: 0, high: 0, count } : i === 1 ? { low: 1, high: 1, count } : { low: 2 ** (i - 1), high: 2 ** i - 1, count }));

describe('properties that hold for any input', () => {
  it('percentiles are ordered, inside their bucket, and within the max bound', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }), fc.boolean(), (counts, linear) => {
        const buckets = linear ? counts.map((count, i) => ({ low: i * 10, high: i * 10 + 9, count })) : log2Buckets(counts);
        const a = analyzeBuckets(buckets);
        const total = counts.reduce((x, y) => x + y, 0);
        expect(a.total).toBe(total);
        if (!total) {
          expect(a.p50).toBeNull();
          return;
        }
        for (const p of [a.p50!, a.p90!, a.p99!]) {
          expect(p.value).toBeGreaterThanOrEqual(p.low!);
          expect(p.value).toBeLessThanOrEqual(p.high! + 1);
          expect(p.value).toBeLessThanOrEqual(a.max! + 1);
        }
        expect(a.p50!.value).toBeLessThanOrEqual(a.p90!.value);
        expect(a.p90!.value).toBeLessThanOrEqual(a.p99!.value);
        expect(a.modes.every((m) => m.count > 0)).toBe(true);
      }),
    );
  });

  it('folded stacks equal stackcollapse-bpftrace on the text bpftrace prints for the same map', async () => {
    const frame = fc.stringMatching(/^[a-z_][a-z0-9_.]{0,20}$/).map((f) => `${f}+${f.length * 7}`);
    const stack = fc.array(frame, { minLength: 1, maxLength: 12 }).map((fs) => `\n${fs.map((f) => `        ${f}`).join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(fc.dictionary(stack, fc.integer({ min: 1, max: 10_000 }), { minKeys: 1, maxKeys: 30 }), async (value) => {
        const map = { type: 'map' as const, name: '@', value };
        const ours = await foldStacks(map);
        expect(new Map([...ours.stacks].sort())).toEqual(new Map([...collapseStacks(renderMap(map).join('\n'))].sort()));
      }),
      { numRuns: 60 },
    );
  });
});
