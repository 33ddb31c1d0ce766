/**
 * Edit distance between two words, counting a swap of two neighbouring letters as one edit
 * (the optimal string alignment form of Damerau–Levenshtein): "timout" is one edit from
 * "timeout", and "exce" one from "exec", which are the slips people make at a keyboard.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  // Three rows suffice: the swap looks two rows back.
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidates close enough to `word` to be what was meant, only the nearest ones (ties in
 * the candidates' order). Close enough: a third of the word's letters may be wrong (at least
 * one), so a short word is not "corrected" into an unrelated one. A candidate that starts with
 * the word (an abbreviation: "exe" for "execsnoop") counts as one edit away. Case is ignored.
 */
export function didYouMean(word: string, candidates: Iterable<string>, max = 3): string[] {
  const w = word.toLowerCase();
  if (!w) return [];
  const limit = Math.max(1, Math.floor(w.length / 3));
  const scored: { c: string; d: number; i: number }[] = [];
  let i = 0;
  for (const c of new Set(candidates)) {
    const lc = c.toLowerCase();
    const d = lc === w ? Infinity : lc.startsWith(w) && w.length >= 2 ? 1 : editDistance(w, lc);
    if (d <= limit) scored.push({ c, d, i });
    i++;
  }
  const best = Math.min(...scored.map((s) => s.d));
  return scored
    .filter((s) => s.d === best)
    .sort((x, y) => x.i - y.i)
    .slice(0, max)
    .map((s) => s.c);
}

/** " Did you mean X?" or " Did you mean X or Y?", empty when nothing is close. */
export function suggestionText(suggestions: string[]): string {
  if (!suggestions.length) return '';
  const list = suggestions.length === 1 ? suggestions[0] : `${suggestions.slice(0, -1).join(', ')} or ${suggestions[suggestions.length - 1]}`;
  return ` Did you mean ${list}?`;
}
