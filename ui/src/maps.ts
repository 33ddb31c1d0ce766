/**
 * A run's maps drawn as people read them: histograms with their percentiles, count maps as top
 * keys, per-interval series, the stack map as a flame graph, and the rest as a table. The
 * numbers come from the server (get_result's maps, analyze_output's findings); nothing is
 * estimated here, so the view and the text an assistant reads always agree.
 */
import { renderHistogram, renderSeries, renderTopKeys, type Bucket, type Percentile } from './charts/charts';
import { renderFlameGraph } from './flame/flamegraph';
import { compact, h } from './dom';

export type Maps = Record<string, { type: string; value: unknown }>;

/** analyze_output's structured result, the parts the views draw. */
export interface Analysis {
  summary?: string;
  histograms?: { map: string; key: string | null; unit: string | null; p50: Percentile; p90: Percentile; p99: Percentile; max: number | null }[];
  counts?: { map: string; total: number; top: { key: string; value: number; share_percent: number }[] }[];
  series?: { map: string; key: string | null; points: number[]; interval_seconds: number | null }[];
  stacks?: { map: string; samples: number }[];
  folded?: string;
}

type RawBucket = { min: number; max: number; count: number };
const MAX_KEYED_HISTOGRAMS = 8;
const MAX_TABLE_KEYS = 50;
const MAX_SERIES = 4;

const isBuckets = (v: unknown): v is RawBucket[] => Array.isArray(v) && v.every((b) => b && typeof b === 'object' && 'count' in b);
const buckets = (raw: RawBucket[]): Bucket[] => raw.map((b) => ({ low: b.min ?? null, high: b.max ?? null, count: b.count }));
/** A stack map's keys are the printed stacks: several lines each. */
const isStackMap = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).some((k) => k.includes('\n'));

/** Draws `maps` into `el` (replacing what was there). `analysis` adds percentiles, top keys, series and the flame graph. */
export function renderMaps(el: HTMLElement, maps: Maps, analysis?: Analysis): void {
  el.replaceChildren();
  if (analysis?.folded) {
    const box = h('section', { class: 'flame-section', 'aria-label': 'Flame graph' }, h('h2', {}, `Flame graph ${analysis.stacks?.[0]?.map ?? ''}`));
    el.append(box);
    renderFlameGraph(box, analysis.folded, { title: analysis.stacks?.[0]?.map });
  }
  const scalars: [string, string][] = [];
  for (const [name, m] of Object.entries(maps)) {
    if (m.type === 'hist' && isBuckets(m.value)) histogram(el, name, null, m.value, analysis);
    else if (m.type === 'hist' && m.value && typeof m.value === 'object') {
      const keyed = Object.entries(m.value as Record<string, unknown>).filter((e): e is [string, RawBucket[]] => isBuckets(e[1]));
      for (const [key, v] of keyed.slice(0, MAX_KEYED_HISTOGRAMS)) histogram(el, name, key, v, analysis);
      if (keyed.length > MAX_KEYED_HISTOGRAMS)
        el.append(h('p', { class: 'muted' }, `${name}: ${keyed.length - MAX_KEYED_HISTOGRAMS} more keys; get_result has them all.`));
    } else if (m.type === 'stats' && m.value && typeof m.value === 'object') {
      const st = m.value as Record<string, unknown>;
      if ('count' in st) scalars.push([name, `count ${st.count}, average ${st.average}, total ${st.total}`]);
      else for (const [k, v] of Object.entries(st)) scalars.push([`${name}[${k}]`, JSON.stringify(v)]);
    } else if (m.value !== null && typeof m.value === 'object' && !Array.isArray(m.value)) {
      if (isStackMap(m.value)) {
        if (!analysis?.folded)
          el.append(h('p', { class: 'muted' }, `${name}: ${Object.keys(m.value).length} stacks (the flame graph comes with the analysis when the run ends).`));
        continue;
      }
      keyedMap(el, name, m.value as Record<string, unknown>, analysis);
    } else scalars.push([name, typeof m.value === 'string' ? m.value : JSON.stringify(m.value)]);
  }
  const series = (analysis?.series ?? []).filter((s) => s.points.length > 1);
  for (const s of series.slice(0, MAX_SERIES)) {
    renderSeries(el, { title: `${s.map}${s.key ? `[${s.key}]` : ''} per interval`, points: s.points, intervalSeconds: s.interval_seconds });
  }
  if (series.length > MAX_SERIES) el.append(h('p', { class: 'muted' }, `${series.length - MAX_SERIES} more series; analyze_output has them all.`));
  if (scalars.length) {
    el.append(
      h('h2', {}, 'Values'),
      h('table', { class: 'scalars' }, h('tbody', {}, ...scalars.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'mono' }, v))))),
    );
  }
}

function histogram(el: HTMLElement, map: string, key: string | null, raw: RawBucket[], analysis?: Analysis) {
  const found = analysis?.histograms?.find((x) => x.map === map && (x.key ?? null) === key);
  renderHistogram(el, {
    title: key === null ? map : `${map}[${key}]`,
    unit: found?.unit ?? null,
    buckets: buckets(raw),
    percentiles: found ? { p50: found.p50, p90: found.p90, p99: found.p99 } : undefined,
    max: found?.max ?? null,
  });
}

function keyedMap(el: HTMLElement, map: string, value: Record<string, unknown>, analysis?: Analysis) {
  const found = analysis?.counts?.find((c) => c.map === map);
  const numeric = Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number');
  if (found || numeric.length === Object.keys(value).length) {
    const total = found?.total ?? numeric.reduce((a, [, v]) => a + v, 0);
    const top =
      found?.top ??
      numeric
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([key, v]) => ({ key, value: v, share_percent: total ? Math.round((1000 * v) / total) / 10 : 0 }));
    renderTopKeys(el, { title: `${map}: ${compact(numeric.length)} keys`, top, total });
    return;
  }
  const rows = Object.entries(value).slice(0, MAX_TABLE_KEYS);
  el.append(
    h('h2', {}, map),
    h(
      'table',
      {},
      h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, k), h('td', { class: 'mono' }, JSON.stringify(v))))),
    ),
  );
}
