import type { AnalysisDetail, AnalysisResult, HistogramEntry } from './analyze.js';
import { round } from './histogram.js';
import { renderFlameGraph } from './flamegraph.js';

export interface KeyChange {
  key: string;
  a: number;
  b: number;
  change: number;
  /** Relative to a; null for a key that appeared. */
  change_percent: number | null;
}

export interface MapComparison {
  map: string;
  total_a: number;
  total_b: number;
  /** Counted in b only; the largest first, up to `top` (as are the lists below). */
  appeared: KeyChange[];
  disappeared: KeyChange[];
  /** Keys in both runs, the largest moves first. */
  moved: KeyChange[];
}

export interface HistogramComparison {
  map: string;
  key: string | null;
  samples_a: number;
  samples_b: number;
  percentiles: { p: 'p50' | 'p90' | 'p99' | 'max'; a: number | null; b: number | null; change_percent: number | null }[];
}

export interface Comparison {
  a: string;
  b: string;
  summary: string;
  maps: MapComparison[];
  histograms: HistogramComparison[];
  stacks: { map: string; samples_a: number; samples_b: number; frames_grown: KeyChange[]; frames_shrunk: KeyChange[] }[];
  /** Maps that only one run printed. */
  only_in_a: string[];
  only_in_b: string[];
}

const pct = (a: number | null, b: number | null) => (a === null || b === null || a === 0 ? null : round((100 * (b - a)) / Math.abs(a)));
const change = (key: string, a: number, b: number): KeyChange => ({ key, a, b, change: b - a, change_percent: a === 0 ? null : pct(a, b) });

/**
 * What changed between two analysed runs (before and after a fix): keys that appeared,
 * disappeared or moved in each count map, each histogram's percentiles side by side, and, for
 * profiles, the leaf frames whose share of the samples grew or shrank most.
 */
export function compareRuns(
  a: { result: AnalysisResult; detail: AnalysisDetail },
  b: { result: AnalysisResult; detail: AnalysisDetail },
  top = 10,
): Comparison {
  const ra = a.result;
  const rb = b.result;
  const maps: MapComparison[] = [];
  for (const ca of ra.counts) {
    const cb = rb.counts.find((x) => x.map === ca.map);
    if (!cb) continue;
    const va = a.detail.counts.get(ca.map) ?? new Map<string, number>();
    const vb = b.detail.counts.get(ca.map) ?? new Map<string, number>();
    const all = [...new Set([...va.keys(), ...vb.keys()])].map((k) => change(k, va.get(k) ?? 0, vb.get(k) ?? 0));
    const largest = (x: KeyChange, y: KeyChange) => Math.abs(y.change) - Math.abs(x.change) || (x.key < y.key ? -1 : 1);
    maps.push({
      map: ca.map,
      total_a: ca.total,
      total_b: cb.total,
      appeared: all
        .filter((c) => !va.has(c.key))
        .sort(largest)
        .slice(0, top),
      disappeared: all
        .filter((c) => !vb.has(c.key))
        .sort(largest)
        .slice(0, top),
      moved: all
        .filter((c) => va.has(c.key) && vb.has(c.key) && c.change !== 0)
        .sort(largest)
        .slice(0, top),
    });
  }
  const histograms: HistogramComparison[] = [];
  const histKey = (h: HistogramEntry) => `${h.map}\u0000${h.key}`;
  for (const ha of ra.histograms) {
    const hb = rb.histograms.find((x) => histKey(x) === histKey(ha));
    if (!hb) continue;
    histograms.push({
      map: ha.map,
      key: ha.key,
      samples_a: ha.total,
      samples_b: hb.total,
      percentiles: (['p50', 'p90', 'p99', 'max'] as const).map((p) => {
        const x = p === 'max' ? ha.max : (ha[p]?.value ?? null);
        const y = p === 'max' ? hb.max : (hb[p]?.value ?? null);
        return { p, a: x, b: y, change_percent: pct(x, y) };
      }),
    });
  }
  const stacks = a.detail.folded.flatMap((fa) => {
    const fb = b.detail.folded.find((x) => x.map === fa.map);
    if (!fb) return [];
    const leaves = (s: ReadonlyMap<string, number>, total: number) => {
      const m = new Map<string, number>();
      for (const [k, n] of s) {
        const leaf = k.slice(k.lastIndexOf(';') + 1);
        m.set(leaf, (m.get(leaf) ?? 0) + n / Math.max(total, 1));
      }
      return m;
    };
    const la = leaves(fa.stacks, fa.samples);
    const lb = leaves(fb.stacks, fb.samples);
    // Shares in percent of each run's samples, so runs of different lengths compare.
    const all = [...new Set([...la.keys(), ...lb.keys()])].map((k) => change(k, round(100 * (la.get(k) ?? 0), 2), round(100 * (lb.get(k) ?? 0), 2)));
    return [
      {
        map: fa.map,
        samples_a: fa.samples,
        samples_b: fb.samples,
        frames_grown: all
          .filter((c) => c.change > 0)
          .sort((x, y) => y.change - x.change)
          .slice(0, top),
        frames_shrunk: all
          .filter((c) => c.change < 0)
          .sort((x, y) => x.change - y.change)
          .slice(0, top),
      },
    ];
  });
  const namesA = new Set([...ra.counts, ...ra.histograms, ...ra.stacks].map((x) => x.map));
  const namesB = new Set([...rb.counts, ...rb.histograms, ...rb.stacks].map((x) => x.map));
  const cmp: Comparison = {
    a: ra.execution_id,
    b: rb.execution_id,
    summary: '',
    maps,
    histograms,
    stacks,
    only_in_a: [...namesA].filter((n) => !namesB.has(n)),
    only_in_b: [...namesB].filter((n) => !namesA.has(n)),
  };
  cmp.summary = summarize(cmp);
  return cmp;
}

function summarize(c: Comparison): string {
  const s: string[] = [];
  for (const m of c.maps) {
    const big = m.moved[0];
    s.push(
      `${m.map}: total ${m.total_a} → ${m.total_b}; ${m.appeared.length} keys appeared, ${m.disappeared.length} disappeared` +
        (big ? `; the largest move is ${big.key} ${big.a} → ${big.b}` : '') +
        '.',
    );
  }
  for (const h of c.histograms) {
    const parts = h.percentiles.filter((p) => p.a !== null && p.b !== null).map((p) => `${p.p} ${p.a} → ${p.b}`);
    s.push(`${h.key === null ? h.map : `${h.map}[${h.key}]`}: ${h.samples_a} → ${h.samples_b} samples; ${parts.join(', ')}.`);
  }
  for (const st of c.stacks) {
    const g = st.frames_grown[0];
    const k = st.frames_shrunk[0];
    s.push(
      `${st.map}: ${st.samples_a} → ${st.samples_b} samples` +
        (g ? `; ${g.key} grew from ${g.a}% to ${g.b}% of samples` : '') +
        (k ? `; ${k.key} shrank from ${k.a}% to ${k.b}%` : '') +
        '.',
    );
  }
  if (c.only_in_a.length) s.push(`Only in ${c.a}: ${c.only_in_a.join(', ')}.`);
  if (c.only_in_b.length) s.push(`Only in ${c.b}: ${c.only_in_b.join(', ')}.`);
  return s.join(' ') || 'The two runs have no map in common to compare.';
}

/** A differential flame graph of the first profile both runs have: b's widths, coloured by the change from a. */
export async function differentialFlameGraph(a: AnalysisDetail, b: AnalysisDetail, title: string): Promise<{ svg: string; frames: number } | undefined> {
  for (const fb of b.folded) {
    const fa = a.folded.find((x) => x.map === fb.map);
    if (fa && fb.stacks.size) return await renderFlameGraph(fb.stacks, { before: fa.stacks, title });
  }
  return undefined;
}
