import type { Bucket } from './model.js';

export const PERCENTILE_METHOD =
  "Estimated from the buckets: the value of rank p×N (N samples, ranks from 1) is located in its bucket and interpolated linearly between that bucket's bounds by its rank within the bucket (log2 buckets too, so an estimate always lies within the bucket returned beside it). max is the upper bound of the highest non-empty bucket (its lower bound, flagged max_is_lower_bound, when that bucket is open). An open bucket (below the first or past the last bound) gives its one known bound.";

export interface Percentile {
  /** The estimate. */
  value: number;
  /** The bucket it lies in (inclusive bounds; null where open). */
  low: number | null;
  high: number | null;
}

export interface HistogramAnalysis {
  scale: 'log2' | 'linear' | 'buckets';
  total: number;
  p50: Percentile | null;
  p90: Percentile | null;
  p99: Percentile | null;
  /** Upper bound of the highest non-empty bucket; its lower bound when that bucket is open (lhist's `[max, ...)`). */
  max: number | null;
  max_is_lower_bound: boolean;
  /** Local peaks holding at least 10% of the samples, largest first. */
  modes: { low: number | null; high: number | null; count: number; share_percent: number }[];
  bimodal: boolean;
  method: string;
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Share of a total in percent, rounded to 0.1 so the summary quotes exactly this field. */
export const sharePercent = (part: number, total: number): number => (total > 0 ? round((100 * part) / total) : 0);

/** hist()'s powers of two, as opposed to lhist()'s equal steps. */
export function scaleOf(buckets: readonly Bucket[]): HistogramAnalysis['scale'] {
  const closed = buckets.filter((b) => b.low !== null && b.high !== null) as { low: number; high: number }[];
  if (!closed.length) return 'buckets';
  const log2 = closed.every((b) =>
    b.low === b.high ? b.low === 0 || b.low === 1 : b.low >= 2 && Number.isInteger(Math.log2(b.low)) && b.high === b.low * 2 - 1,
  );
  if (log2) return 'log2';
  const widths = new Set(closed.map((b) => b.high - b.low));
  return widths.size === 1 ? 'linear' : 'buckets';
}

export function percentile(buckets: readonly Bucket[], total: number, p: number): Percentile | null {
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let before = 0;
  for (const b of buckets) {
    if (b.count > 0 && before + b.count >= rank) {
      let value: number;
      if (b.low === null) value = b.high as number;
      else if (b.high === null) value = b.low;
      else value = b.low + ((rank - before - 0.5) / b.count) * (b.high + 1 - b.low);
      return { value: round(value), low: b.low, high: b.high };
    }
    before += b.count;
  }
  return null;
}

/**
 * Peaks of the bucket counts that hold at least 10% of the samples; two of them with a valley
 * between them below half the smaller one make the distribution bimodal (e.g. cache hits and
 * misses in a latency histogram).
 */
export function modesOf(buckets: readonly Bucket[], total: number): { modes: HistogramAnalysis['modes']; bimodal: boolean } {
  const c = buckets.map((b) => b.count);
  const peaks: number[] = [];
  for (let i = 0; i < c.length; i++) {
    if (c[i] === 0 || c[i] < 0.1 * total) continue;
    // A plateau counts once: at its first bucket.
    const left = i === 0 ? -1 : c[i - 1];
    let j = i;
    while (j + 1 < c.length && c[j + 1] === c[i]) j++;
    const right = j + 1 < c.length ? c[j + 1] : -1;
    if (c[i] > left && c[i] > right) peaks.push(i);
    i = j;
  }
  let bimodal = false;
  for (let a = 0; a < peaks.length && !bimodal; a++) {
    for (let b = a + 1; b < peaks.length && !bimodal; b++) {
      const valley = Math.min(...c.slice(peaks[a] + 1, peaks[b]));
      if (valley < 0.5 * Math.min(c[peaks[a]], c[peaks[b]])) bimodal = true;
    }
  }
  const modes = peaks
    .map((i) => ({ low: buckets[i].low, high: buckets[i].high, count: c[i], share_percent: sharePercent(c[i], total) }))
    .sort((x, y) => y.count - x.count);
  return { modes, bimodal };
}

export function analyzeBuckets(buckets: readonly Bucket[]): HistogramAnalysis {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const lastNonEmpty = [...buckets].reverse().find((b) => b.count > 0);
  return {
    scale: scaleOf(buckets),
    total,
    p50: percentile(buckets, total, 0.5),
    p90: percentile(buckets, total, 0.9),
    p99: percentile(buckets, total, 0.99),
    max: lastNonEmpty ? (lastNonEmpty.high ?? lastNonEmpty.low) : null,
    max_is_lower_bound: lastNonEmpty !== undefined && lastNonEmpty.high === null,
    ...modesOf(buckets, total),
    method: PERCENTILE_METHOD,
  };
}
