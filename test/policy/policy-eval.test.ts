import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/policy.js';
import { analyzeProgram } from '../../src/validation/validator.js';
// @ts-expect-error: the runner is plain JavaScript, shared with npm run eval:policy.
import { evaluatePolicy, loadEvalSet, packageOnlyEnv, report } from '../../scripts/eval-policy.mjs';

interface Figures {
  entries: number;
  figures: Record<'dev' | 'heldout', Record<'strict' | 'standard' | 'permissive', { cases: number; right: number; accuracy: number }>>;
  falseRejections: { name: string; split: string; level: string }[];
  misses: { name: string; split: string }[];
}

describe('safety policy eval set (test/policy/policy-eval.yaml)', () => {
  const entries = loadEvalSet() as { name: string; split: string; harmless?: boolean; expect: Record<string, string> }[];
  const result = evaluatePolicy(entries, { policy: loadPolicy({}, packageOnlyEnv()), analyzeProgram }) as Figures;

  it('is the set the brief asks for: 120+ programs, 40+ harmless ones, exactly a third held out', () => {
    expect(entries.length).toBeGreaterThanOrEqual(120);
    expect(entries.filter((e) => e.harmless && e.expect.standard === 'allow').length).toBeGreaterThanOrEqual(40);
    expect(entries.filter((e) => e.split === 'heldout').length).toBe(Math.floor(entries.length / 3));
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
  });

  it('decides ≥ 95% of the dev split right at every level, and refuses no harmless program', () => {
    // Only dev misses are printed: the held-out split stays unseen while rules are tuned.
    const shown = report(result, { misses: 'dev' }) as string;
    for (const level of ['strict', 'standard', 'permissive'] as const) expect(result.figures.dev[level].accuracy, shown).toBeGreaterThanOrEqual(0.95);
    expect(
      result.falseRejections.filter((f) => f.split === 'dev'),
      shown,
    ).toEqual([]);
  });

  it('reports the held-out figure (measured, not tuned on)', () => {
    const held = result.figures.heldout;
    console.log(
      `policy eval held-out: ${(['strict', 'standard', 'permissive'] as const).map((l) => `${l} ${(100 * held[l].accuracy).toFixed(1)}%`).join(', ')}; false rejections ${result.falseRejections.filter((f) => f.split === 'heldout').length}`,
    );
    expect(held.standard.cases).toBeGreaterThan(0);
  });
});
