import type { TypedMap } from '../runtime/output-decoder.js';
import { Budget } from './budget.js';
import { analyzeTable, tableFromRows, tableFromText, type EventsAnalysis, type Table } from './events.js';
import { analyzeBuckets, round, sharePercent, type HistogramAnalysis } from './histogram.js';
import { bucketsFromHist, isRecord, mapEntries, type AnalysisSource, type Bucket, type MapPrintAt } from './model.js';
import { foldStacks, isStackMap, leafFrames, type FoldedStacks } from './stacks.js';

export interface AnalyzeOptions {
  /** A map name (`@bytes`) or a printf/bcc column name: only that is analysed. */
  focus?: string;
  /** How many keys, values and frames each list keeps. */
  top?: number;
}

export interface CountAnalysis {
  map: string;
  /** The aggregation the program assigns to the map (count, sum, min, max), when it says. */
  aggregation: string | null;
  keys: number;
  total: number;
  top: { key: string; value: number; share_percent: number }[];
}

export interface HistogramEntry extends HistogramAnalysis {
  map: string;
  key: string | null;
  unit: string | null;
}

export interface StatsEntry {
  map: string;
  key: string | null;
  count: number | null;
  average: number;
  total: number | null;
}

export interface SeriesAnalysis {
  map: string;
  key: string | null;
  points: number[];
  /** The map was never cleared: the points are running totals, and the rates their differences. */
  cumulative: boolean;
  interval_seconds: number | null;
  mean: number;
  min: number;
  max: number;
  rate_per_second: number | null;
  /** The least-squares line's change from the first interval to the last, in percent of its start; beyond ±20% it rises or falls. */
  trend: { direction: 'rising' | 'falling' | 'flat'; change_percent: number };
  spikes: { interval: number; value: number }[];
}

export interface StackAnalysis {
  map: string;
  samples: number;
  distinct_stacks: number;
  empty_stack_samples: number;
  top_leaf_frames: { frame: string; samples: number; share_percent: number }[];
}

export interface Anomaly {
  kind: 'dominant_key' | 'latency_tail' | 'bimodal' | 'spike' | 'lost_events' | 'dropped_lines';
  where: string;
  message: string;
}

export interface AnalysisResult {
  execution_id: string;
  tool: string | null;
  duration: number | null;
  summary: string;
  counts: CountAnalysis[];
  scalars: { map: string; value: number | string }[];
  histograms: HistogramEntry[];
  stats: StatsEntry[];
  series: SeriesAnalysis[];
  stacks: StackAnalysis[];
  events: (EventsAnalysis & { source: 'printf' | 'rows' }) | null;
  anomalies: Anomaly[];
}

/** What pictures are drawn from, beside the result. */
export interface AnalysisDetail {
  folded: FoldedStacks[];
  /** Every key of each count map (the result keeps the top ones): what compare_runs compares. */
  counts: Map<string, Map<string, number>>;
  buckets: Map<HistogramEntry, Bucket[]>;
}

export class AnalysisError extends Error {}

const AGGREGATION = /(@\w*)\s*(?:\[(?:[^[\]]|\[[^[\]]*\])*\])?\s*(=\s*(count|sum|min|max|avg|stats|hist|lhist)\s*\(|\+\+|\+=)/g;

/** What each map aggregates, from the program text when the source carries it. */
function aggregations(program: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!program) return out;
  for (const m of program.matchAll(AGGREGATION)) out.set(m[1], m[3] ?? (m[2] === '++' ? 'count' : 'sum'));
  return out;
}

/** interval:s:1, interval:ms:500, interval:hz:2: seconds between prints, if one interval probe. */
function intervalSeconds(program: string | undefined): number | null {
  const found = [...(program ?? '').matchAll(/interval:(s|ms|us|hz):(\d+)/g)];
  if (found.length !== 1) return null;
  const n = Number(found[0][2]);
  const unit = found[0][1];
  return unit === 's' ? n : unit === 'ms' ? n / 1000 : unit === 'us' ? n / 1e6 : n > 0 ? 1 / n : null;
}

const numeric = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : null);

function series(map: string, key: string | null, raw: number[], interval: number | null): SeriesAnalysis {
  const cumulative = raw.length >= 3 && raw.every((v, i) => i === 0 || v >= raw[i - 1]) && raw[raw.length - 1] > raw[0] && raw[0] >= 0;
  const points = cumulative ? raw.map((v, i) => (i === 0 ? v : v - raw[i - 1])) : raw;
  const n = points.length;
  const mean = points.reduce((a, b) => a + b, 0) / n;
  // Least squares over the intervals.
  const xm = (n - 1) / 2;
  let sxy = 0;
  let sxx = 0;
  points.forEach((y, x) => {
    sxy += (x - xm) * (y - mean);
    sxx += (x - xm) ** 2;
  });
  const slope = sxx ? sxy / sxx : 0;
  // The fitted line's rise over the run, as a share of where it started (of the mean when the
  // fitted start is not positive).
  const start = mean - slope * xm;
  const base = start > 0 ? start : mean;
  // A line fitted through counts may end below zero; counts do not.
  const end = Math.max(start + slope * (n - 1), 0);
  const change = base ? round((100 * (end - start)) / base) : 0;
  const sorted = [...points].sort((a, b) => a - b);
  const median = sorted[Math.floor(n / 2)];
  const mad = [...points.map((p) => Math.abs(p - median))].sort((a, b) => a - b)[Math.floor(n / 2)];
  const spikes =
    n >= 4
      ? points.map((value, i) => ({ interval: i + 1, value })).filter((p) => p.value > median * 1.5 && p.value - median > 3 * 1.4826 * Math.max(mad, 1))
      : [];
  return {
    map,
    key,
    points,
    cumulative,
    interval_seconds: interval,
    mean: round(mean),
    min: sorted[0],
    max: sorted[n - 1],
    rate_per_second: interval ? round(mean / interval) : null,
    trend: { direction: change > 20 ? 'rising' : change < -20 ? 'falling' : 'flat', change_percent: change },
    spikes,
  };
}

/** Prints of one map as series: the scalar's value, or each of its top keys', over the intervals. */
function seriesOf(prints: readonly MapPrintAt[], interval: number | null, top: number): SeriesAnalysis[] {
  const byMap = new Map<string, TypedMap[]>();
  for (const p of prints) {
    if (p.atExit || p.map.type !== 'map') continue;
    const list = byMap.get(p.map.name);
    if (list) list.push(p.map);
    else byMap.set(p.map.name, [p.map]);
  }
  const out: SeriesAnalysis[] = [];
  for (const [name, maps] of byMap) {
    if (maps.length < 3) continue;
    const keyed = maps.map((m) => new Map(mapEntries(m).map(([k, v]) => [k, numeric(v)])));
    if (keyed.some((m) => [...m.values()].some((v) => v === null))) continue;
    const totals = new Map<string | null, number>();
    for (const m of keyed) for (const [k, v] of m) totals.set(k, (totals.get(k) ?? 0) + (v as number));
    const keys = [...totals].sort((a, b) => b[1] - a[1]).slice(0, Math.min(top, 5));
    for (const [k] of keys)
      out.push(
        series(
          name,
          k,
          keyed.map((m) => (m.get(k) as number) ?? 0),
          interval,
        ),
      );
  }
  return out;
}

/**
 * The analysis of one run's typed output: top keys and shares of count maps, histogram
 * percentiles and modes, stats, per-interval series and trends, stack profiles, the columns of
 * printf streams and bcc rows, anomalies, and a summary whose every number is a field here.
 * Long inputs are processed in chunks with yields, so a server answering it keeps serving.
 */
export async function analyze(src: AnalysisSource, opts: AnalyzeOptions = {}): Promise<{ result: AnalysisResult; detail: AnalysisDetail }> {
  const top = opts.top ?? 10;
  const budget = new Budget();
  const focus = opts.focus;
  const aggs = aggregations(src.program);
  const interval = intervalSeconds(src.program);
  const bccHistNames = (src.histograms ?? []).map((h) => h.name);
  const columnNames = src.columns?.map((c) => c.name) ?? [];
  let maps = src.maps;
  let prints = src.prints;
  let histograms = src.histograms ?? [];
  let text = src.text;
  if (focus !== undefined) {
    const known = [...maps.map((m) => m.name), ...bccHistNames];
    if (known.includes(focus)) {
      maps = maps.filter((m) => m.name === focus);
      prints = prints.filter((p) => p.map.name === focus);
      histograms = histograms.filter((h) => h.name === focus);
      text = [];
    } else if (columnNames.includes(focus) || /^col\d+$/.test(focus) || /^[A-Z_%()]+$/.test(focus)) {
      // A column: the maps are left out; an unknown column is reported with the real ones.
      maps = [];
      prints = [];
      histograms = [];
    } else {
      throw new AnalysisError(
        `focus "${focus}" names no map or column of ${src.id}. Maps: ${known.join(', ') || 'none'}; columns: ${columnNames.join(', ') || '(printf columns are named col1, col2, … or by their header)'}. Pass one of them, or leave focus out.`,
      );
    }
  }
  const result: AnalysisResult = {
    execution_id: src.id,
    tool: src.tool ?? null,
    duration: src.duration ?? null,
    summary: '',
    counts: [],
    scalars: [],
    histograms: [],
    stats: [],
    series: [],
    stacks: [],
    events: null,
    anomalies: [],
  };
  const detail: AnalysisDetail = { folded: [], counts: new Map(), buckets: new Map() };

  for (const m of maps) {
    if (m.type === 'hist') {
      for (const [key, value] of mapEntries(m)) {
        if (!Array.isArray(value)) continue;
        const buckets = bucketsFromHist(value);
        const h: HistogramEntry = { map: m.name, key, unit: null, ...analyzeBuckets(buckets) };
        result.histograms.push(h);
        detail.buckets.set(h, buckets);
      }
    } else if (m.type === 'stats') {
      for (const [key, v] of mapEntries(m)) {
        if (isRecord(v)) result.stats.push({ map: m.name, key, count: Number(v.count), average: Number(v.average), total: Number(v.total) });
        else if (numeric(v) !== null) result.stats.push({ map: m.name, key, count: null, average: numeric(v)!, total: null });
      }
    } else if (isStackMap(m)) {
      const f = await foldStacks(m, budget);
      detail.folded.push(f);
      result.stacks.push({
        map: m.name,
        samples: f.samples,
        distinct_stacks: f.stacks.size,
        empty_stack_samples: f.empty,
        top_leaf_frames: leafFrames(f.stacks)
          .slice(0, top)
          .map((x) => ({ ...x, share_percent: sharePercent(x.samples, f.samples) })),
      });
    } else if (m.type === 'map') {
      const entries = mapEntries(m);
      if (entries.length === 1 && entries[0][0] === null) {
        const v = numeric(entries[0][1]);
        result.scalars.push({ map: m.name, value: v ?? String(entries[0][1]) });
        continue;
      }
      const nums: (readonly [string, number | null])[] = [];
      for (const [k, v] of entries) {
        if (budget.due()) await budget.pause();
        nums.push([k as string, numeric(v)]);
      }
      if (nums.some(([, v]) => v === null)) continue;
      detail.counts.set(m.name, new Map(nums as [string, number][]));
      const agg = aggs.get(m.name) ?? null;
      const total = nums.reduce((n, [, v]) => n + (v as number), 0);
      const shares = agg !== 'min' && agg !== 'max';
      result.counts.push({
        map: m.name,
        aggregation: agg,
        keys: nums.length,
        total,
        top: [...nums]
          .sort((a, b) => (b[1] as number) - (a[1] as number))
          .slice(0, top)
          .map(([key, value]) => ({ key, value: value as number, share_percent: shares ? sharePercent(value as number, total) : 0 })),
      });
    }
    await budget.pause();
  }
  for (const h of histograms) {
    const buckets: Bucket[] = h.buckets.map((b) => ({ low: b.low, high: b.high, count: b.count }));
    const e: HistogramEntry = { map: h.name, key: null, unit: h.unit ?? null, ...analyzeBuckets(buckets) };
    result.histograms.push(e);
    detail.buckets.set(e, buckets);
  }
  result.series = seriesOf(prints, interval, top);

  // With a focus on a column, only that column is analysed (a focus on a map leaves no text).
  const only = (t: Table): Table => {
    if (focus === undefined) return t;
    const i = t.columns.findIndex((c) => c.name === focus);
    if (i < 0) throw new AnalysisError(`focus "${focus}" names no map or column; the columns are ${t.columns.map((c) => c.name).join(', ') || 'none'}.`);
    return { columns: [t.columns[i]], values: [t.values[i]], rows: t.rows };
  };
  if (src.rows?.length && src.columns?.length && (focus === undefined || columnNames.includes(focus))) {
    const t = only(tableFromRows(src.columns, src.rows));
    result.events = { source: 'rows', rows: t.rows, unparsed: 0, header: true, columns: await analyzeTable(t, top, budget) };
  } else if (text.some((l) => l.trim())) {
    const parsed = await tableFromText(text, budget);
    const t = only(parsed.table);
    result.events = { source: 'printf', rows: t.rows, unparsed: parsed.unparsed, header: parsed.header, columns: await analyzeTable(t, top, budget) };
  }
  if (result.events && src.duration) result.events.rows_per_second = round(result.events.rows / src.duration);

  result.anomalies = anomalies(result, src);
  result.summary = summarize(result);
  return { result, detail };
}

const where = (map: string, key: string | null) => (key === null ? map : `${map}[${key}]`);

function anomalies(r: AnalysisResult, src: AnalysisSource): Anomaly[] {
  const out: Anomaly[] = [];
  for (const c of r.counts) {
    const t = c.top[0];
    if (c.keys >= 3 && t && t.share_percent >= 50) {
      out.push({ kind: 'dominant_key', where: c.map, message: `${t.key} dominates ${c.map} with ${t.share_percent}% of its total` });
    }
  }
  for (const h of r.histograms) {
    if (h.p50 && h.p99 && h.p50.value > 0 && h.p99.value / h.p50.value >= 10) {
      out.push({
        kind: 'latency_tail',
        where: where(h.map, h.key),
        message: `${where(h.map, h.key)} has a long tail: p99 ≈ ${h.p99.value} against p50 ≈ ${h.p50.value}`,
      });
    }
    if (h.bimodal) {
      out.push({
        kind: 'bimodal',
        where: where(h.map, h.key),
        message: `${where(h.map, h.key)} is bimodal: ${h.modes.length} peaks, the largest two holding ${h.modes[0].share_percent}% and ${h.modes[1].share_percent}%`,
      });
    }
  }
  for (const s of r.series) {
    for (const p of s.spikes)
      out.push({
        kind: 'spike',
        where: where(s.map, s.key),
        message: `${where(s.map, s.key)} spiked to ${p.value} in interval ${p.interval} (mean ${s.mean})`,
      });
  }
  if (src.lostEvents) out.push({ kind: 'lost_events', where: 'run', message: `bpftrace lost ${src.lostEvents} events: counts from printf output are low` });
  if (src.droppedLines)
    out.push({
      kind: 'dropped_lines',
      where: 'run',
      message: `${src.droppedLines} output lines were dropped past the output cap: the printf analysis saw part of the stream`,
    });
  return out;
}

/** Plain sentences, built only from fields of the result, so every number can be traced. */
function summarize(r: AnalysisResult): string {
  const s: string[] = [];
  for (const c of r.counts) {
    const t = c.top[0];
    if (!t) continue;
    const share = c.aggregation === 'min' || c.aggregation === 'max' ? '' : ` (${t.share_percent}%)`;
    s.push(`${c.map}: ${c.keys} keys, ${c.total} in all; the top key ${t.key} has ${t.value}${share}.`);
  }
  for (const h of r.histograms) {
    if (!h.p50) {
      s.push(`${where(h.map, h.key)}: empty histogram.`);
      continue;
    }
    s.push(
      `${where(h.map, h.key)}: ${h.total} samples, p50 ≈ ${h.p50.value}, p90 ≈ ${h.p90!.value}, p99 ≈ ${h.p99!.value}, max ${h.max_is_lower_bound ? '≥' : '≤'} ${h.max}${h.unit ? ` ${h.unit}` : ''}.`,
    );
  }
  for (const st of r.stats.slice(0, 3)) s.push(`${where(st.map, st.key)}: average ${st.average}${st.count !== null ? ` over ${st.count} values` : ''}.`);
  for (const x of r.series) {
    const rate = x.rate_per_second !== null ? ` (${x.rate_per_second}/s)` : '';
    s.push(
      `${where(x.map, x.key)}: ${x.points.length} intervals, mean ${x.mean}${rate}, min ${x.min}, max ${x.max}; ${x.trend.direction} (${x.trend.change_percent}% over the run).`,
    );
  }
  for (const st of r.stacks) {
    const hot = st.top_leaf_frames[0];
    const empty = st.empty_stack_samples ? ` (${st.empty_stack_samples} of them with an empty stack, e.g. in user space)` : '';
    s.push(
      `${st.map}: ${st.samples} stack samples${empty}, ${st.distinct_stacks} distinct stacks${hot ? `; the hottest leaf frame is ${hot.frame} with ${hot.samples} samples (${hot.share_percent}%)` : ''}.`,
    );
  }
  if (r.events) {
    const parts = r.events.columns.flatMap((c) =>
      c.top?.length
        ? [`${c.name} (${c.role}) most often ${c.top[0].value} (${c.top[0].count}, ${c.top[0].share_percent}%)`]
        : c.numeric
          ? [`${c.name} p50 ${c.numeric.p50}, p99 ${c.numeric.p99}, max ${c.numeric.max}`]
          : [],
    );
    s.push(
      `${r.events.rows} events${r.events.rows_per_second !== undefined ? ` (${r.events.rows_per_second}/s)` : ''}${parts.length ? `: ${parts.join('; ')}` : ''}.`,
    );
  }
  for (const a of r.anomalies) s.push(`Note: ${a.message}.`);
  if (r.scalars.length && !s.length) s.push(r.scalars.map((x) => `${x.map} = ${x.value}`).join(', ') + '.');
  return s.join(' ') || 'Nothing to analyse: the run printed no maps and no output lines.';
}
