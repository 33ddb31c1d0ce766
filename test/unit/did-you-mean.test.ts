import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, suggestionText } from '../../src/util/did-you-mean.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and a swap of neighbours as one edit each', () => {
    expect(editDistance('timout', 'timeout')).toBe(1);
    expect(editDistance('exec', 'exe')).toBe(1);
    expect(editDistance('exce', 'exec')).toBe(1);
    expect(editDistance('doctor', 'docter')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('is a distance: zero only for equal words, symmetric, at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('didYouMean', () => {
  const commands = ['exec', 'execsnoop', 'doctor', 'setup', 'probes', 'syscalls'];

  it('names the nearest candidates, and an abbreviation counts as one edit', () => {
    expect(didYouMean('exe', commands)).toEqual(['exec', 'execsnoop']);
    expect(didYouMean('docter', commands)).toEqual(['doctor']);
    expect(didYouMean('--timout', ['--timeout', '--table', '--json'])).toEqual(['--timeout']);
  });

  it('does not "correct" a word into an unrelated one', () => {
    expect(didYouMean('zzz', commands)).toEqual([]);
    expect(didYouMean('ps', commands)).toEqual([]);
    expect(didYouMean('exec', commands)).toEqual(['execsnoop']);
  });

  it('phrases one or several suggestions', () => {
    expect(suggestionText([])).toBe('');
    expect(suggestionText(['a'])).toBe(' Did you mean a?');
    expect(suggestionText(['a', 'b', 'c'])).toBe(' Did you mean a, b or c?');
  });
});
