/** Optimal string alignment distance (Levenshtein plus adjacent swaps), cut off past `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur.push(v);
      best = Math.min(best, v);
    }
    if (best > max) return max + 1;
    prev2.splice(0, prev2.length, ...prev);
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidates nearest to `word`: close spellings first, then names that contain it or that
 * it contains (a kernel rename such as blk_account_io_start → __blk_account_io_start).
 */
export function nearest(word: string, candidates: Iterable<string>, limit = 3, key: (c: string) => string = (c) => c): string[] {
  const max = Math.max(2, Math.floor(word.length / 3));
  const scored: { c: string; d: number }[] = [];
  const lw = word.toLowerCase();
  for (const c of candidates) {
    const k = key(c);
    if (k === word) continue;
    const lk = k.toLowerCase();
    let d = editDistance(lw, lk, max);
    if (d > max && lw.length >= 4 && (lk.includes(lw) || lw.includes(lk)) && lk.length >= 3) d = max + Math.min(0.5, Math.abs(lk.length - lw.length) / 100);
    if (d <= max + 0.5) scored.push({ c, d });
  }
  return scored
    .sort((x, y) => x.d - y.d || x.c.length - y.c.length || (x.c < y.c ? -1 : 1))
    .slice(0, limit)
    .map((s) => s.c);
}
