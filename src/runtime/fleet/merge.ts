import type { Histogram, TypedMap } from '../output-decoder.js';

/**
 * Merging what several hosts printed into one fleet-wide answer. A count or a sum adds up across
 * hosts, a max or a min keeps the extreme, a histogram adds bucket by bucket, stats add their
 * counts and totals (the average follows). bpftrace's output does not say which function filled a
 * map, so the program does: `@x[k] = count()` sums, `@y = max(v)` keeps the maximum. A map the
 * program does not explain (a plain assignment) is summed when its values are numbers, which is
 * right for counters kept by hand (`@n++`, `@bytes += x`) and is said in the fleet's warnings.
 */
export type Aggregate = 'sum' | 'max' | 'min' | 'avg' | 'stats' | 'hist' | 'unknown';

const FUNCTION_AGG: Record<string, Aggregate> = {
  count: 'sum',
  sum: 'sum',
  max: 'max',
  min: 'min',
  avg: 'avg',
  stats: 'stats',
  hist: 'hist',
  lhist: 'hist',
};

/** Each map's aggregation function, read from the program's source. */
export function aggregatesOf(program: string | undefined): Map<string, Aggregate> {
  const out = new Map<string, Aggregate>();
  if (!program) return out;
  for (const m of program.matchAll(/(@[A-Za-z0-9_]*)\s*(?:\[[^\]=]*\])?\s*=\s*(count|sum|max|min|avg|stats|hist|lhist)\s*\(/g)) {
    out.set(m[1], FUNCTION_AGG[m[2]]);
  }
  for (const m of program.matchAll(/(@[A-Za-z0-9_]*)\s*(?:\[[^\]=]*\])?\s*(?:\+\+|\+=|-=)/g)) if (!out.has(m[1])) out.set(m[1], 'sum');
  return out;
}

interface Bucket {
  min?: number;
  max?: number;
  count: number;
}
const isBucketList = (v: unknown): v is Bucket[] => Array.isArray(v) && v.every((b) => b && typeof b === 'object' && typeof (b as Bucket).count === 'number');
const isStats = (v: unknown): v is { count: number; average: number; total: number } =>
  !!v && typeof v === 'object' && !Array.isArray(v) && ['count', 'average', 'total'].every((k) => typeof (v as Record<string, unknown>)[k] === 'number');

/** Merges one value as printed by each host (undefined where a host lacks it). */
export function mergeValues(values: readonly unknown[], agg: Aggregate): unknown {
  const present = values.filter((v) => v !== undefined && v !== null);
  if (!present.length) return undefined;
  if (present.every((v) => typeof v === 'number')) {
    const nums = present as number[];
    if (agg === 'max') return Math.max(...nums);
    if (agg === 'min') return Math.min(...nums);
    // The hosts' averages, weighted alike: their counts are not printed (stats() has them).
    if (agg === 'avg') return Math.trunc(nums.reduce((a, b) => a + b, 0) / nums.length);
    return nums.reduce((a, b) => a + b, 0);
  }
  if (present.every(isBucketList)) {
    const byRange = new Map<string, Bucket>();
    for (const list of present) {
      for (const b of list) {
        const k = `${b.min ?? ''}:${b.max ?? ''}`;
        const got = byRange.get(k);
        if (got) got.count += b.count;
        else byRange.set(k, { ...b });
      }
    }
    return [...byRange.values()].sort((a, b) => (a.min ?? -Infinity) - (b.min ?? -Infinity));
  }
  if (present.every(isStats)) {
    const count = present.reduce((n, s) => n + s.count, 0);
    const total = present.reduce((n, s) => n + s.total, 0);
    return { count, average: count ? Math.trunc(total / count) : 0, total };
  }
  if (present.every((v) => typeof v === 'object' && !Array.isArray(v))) {
    const keys = new Set(present.flatMap((v) => Object.keys(v as object)));
    const out: Record<string, unknown> = {};
    for (const k of keys)
      out[k] = mergeValues(
        present.map((v) => (v as Record<string, unknown>)[k]),
        agg,
      );
    return out;
  }
  // Strings, or values of different shapes: the first host's, as nothing adds them up.
  return present[0];
}

/** One map as each host last printed it, merged; keyed maps keep bpftrace's order (by value). */
export function mergeMaps(parts: readonly TypedMap[], agg: Aggregate): TypedMap {
  const first = parts[0];
  const value = mergeValues(
    parts.map((p) => p.value),
    agg,
  );
  const merged: TypedMap = { type: first.type, name: first.name, value };
  if (first.type === 'map' && value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.every(([, v]) => typeof v === 'number')) merged.keys = entries.sort((a, b) => (a[1] as number) - (b[1] as number)).map(([k]) => k);
  }
  return merged;
}

/** A histogram a tool printed on each host, added bucket by bucket. */
export function mergeHistograms(parts: readonly Histogram[]): Histogram {
  const byRange = new Map<string, { low: number; high: number; count: number }>();
  for (const h of parts) {
    for (const b of h.buckets) {
      const k = `${b.low}:${b.high}`;
      const got = byRange.get(k);
      if (got) got.count += b.count;
      else byRange.set(k, { ...b });
    }
  }
  return { name: parts[0].name, unit: parts[0].unit, buckets: [...byRange.values()].sort((a, b) => a.low - b.low) };
}
