import type { AnalysisDetail, AnalysisResult } from './analyze.js';
import { barChart, histogramChart, timeSeriesChart } from './charts.js';
import { renderFlameGraph } from './flamegraph.js';

export const PICTURES = ['auto', 'chart', 'flamegraph', 'histogram', 'timeseries', 'bars'] as const;
export type PictureKind = (typeof PICTURES)[number];

export interface Picture {
  /** File-like name: flamegraph.svg, histogram.svg … */
  name: string;
  kind: Exclude<PictureKind, 'auto' | 'chart'>;
  svg: string;
  /** Frames drawn, for a flame graph. */
  frames?: number;
}

const keyed = (map: string, key: string | null) => (key === null ? map : `${map}[${key}]`);

/**
 * The picture asked for, from what the analysis found; `auto` picks the most telling one (a
 * profile's flame graph, else a histogram, a series, the top keys), `chart` the same without
 * the flame graph. Undefined when the run has nothing of that kind.
 */
export async function drawPicture(kind: PictureKind, r: AnalysisResult, d: AnalysisDetail): Promise<Picture | undefined> {
  const order: Picture['kind'][] =
    kind === 'auto' ? ['flamegraph', 'histogram', 'timeseries', 'bars'] : kind === 'chart' ? ['histogram', 'timeseries', 'bars'] : [kind];
  for (const k of order) {
    const p = await draw(k, r, d);
    if (p) return p;
  }
  return undefined;
}

async function draw(kind: Picture['kind'], r: AnalysisResult, d: AnalysisDetail): Promise<Picture | undefined> {
  switch (kind) {
    case 'flamegraph': {
      const f = d.folded.find((x) => x.stacks.size);
      if (!f) return undefined;
      const g = await renderFlameGraph(f.stacks, {
        title: `${f.map}: ${f.samples - f.empty} samples${f.empty ? ` (${f.empty} with an empty stack left out)` : ''} (${r.execution_id})`,
      });
      return { name: 'flamegraph.svg', kind, svg: g.svg, frames: g.frames };
    }
    case 'histogram': {
      const h = r.histograms.find((x) => x.total > 0) ?? r.histograms[0];
      if (!h) return undefined;
      return { name: 'histogram.svg', kind, svg: histogramChart(`${keyed(h.map, h.key)} (${r.execution_id})`, d.buckets.get(h) ?? [], h, h.unit ?? undefined) };
    }
    case 'timeseries': {
      const first = r.series[0];
      if (!first) return undefined;
      const same = r.series.filter((s) => s.map === first.map);
      return {
        name: 'timeseries.svg',
        kind,
        svg: timeSeriesChart(
          `${first.map} per interval (${r.execution_id})`,
          same.map((s) => ({ name: s.key ?? s.map, points: s.points })),
          {
            intervalSeconds: first.interval_seconds ?? undefined,
          },
        ),
      };
    }
    case 'bars': {
      const c = r.counts.find((x) => x.top.length);
      if (c) return { name: 'bars.svg', kind, svg: barChart(`${c.map}: top keys (${r.execution_id})`, c.top, c.total) };
      const stats = r.stats.filter((x) => x.key !== null && x.map === r.stats.find((y) => y.key !== null)?.map);
      if (stats.length) {
        const bars = [...stats].sort((x, y) => y.average - x.average).slice(0, 20);
        return {
          name: 'bars.svg',
          kind,
          svg: barChart(
            `${stats[0].map}: average per key (${r.execution_id})`,
            bars.map((x) => ({ key: x.key!, value: x.average })),
          ),
        };
      }
      const col = r.events?.columns.find((x) => x.top?.length && x.role !== 'pid') ?? r.events?.columns.find((x) => x.top?.length);
      if (!col || !r.events) return undefined;
      return {
        name: 'bars.svg',
        kind,
        svg: barChart(
          `${col.name} (${col.role}) in ${r.events.rows} events (${r.execution_id})`,
          col.top!.map((t) => ({ key: t.value, value: t.count, share_percent: t.share_percent })),
          r.events.rows,
        ),
      };
    }
  }
}
