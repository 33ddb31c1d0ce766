import { renderHist } from '../runtime/bpftrace/map-render.js';
import { bucketLabel } from './bucket-label.js';
import type { HistogramAnalysis } from './histogram.js';
import type { Bucket } from './model.js';
import { FONT, shortNumber, xmlEscape } from './svg.js';

const W = 900;
const STYLE = `<style>text{font-family:${FONT};font-size:12px;fill:#222}.t{font-size:16px;font-weight:bold}.s{fill:#555}.ax{stroke:#888;stroke-width:1}.g{stroke:#e4e4e4;stroke-width:1}</style>`;

function frame(width: number, height: number, title: string, subtitle: string, body: string[]): string {
  return [
    `<?xml version="1.0" standalone="no"?>`,
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    STYLE,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text class="t" x="16" y="26">${xmlEscape(title)}</text>`,
    `<text class="s" x="16" y="46">${xmlEscape(subtitle)}</text>`,
    ...body,
    `</svg>`,
  ].join('\n');
}

/**
 * A histogram as bpftrace lays it out in a terminal, one row per bucket from the smallest: the
 * range label on the left, a bar, the count. Rows hold labels of any length (`[4K, 8K)`), which a
 * vertical bar chart would have to tilt. The buckets of p50/p90/p99 are marked on the right.
 */
export function histogramChart(title: string, buckets: readonly Bucket[], a: HistogramAnalysis, unit?: string): string {
  const rowH = 20;
  const top = 62;
  const labelW = 120;
  const countW = 70;
  const markW = 90;
  const barMax = W - 16 - labelW - countW - markW - 16;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const marks = new Map<Bucket, string[]>();
  for (const [name, p] of [
    ['p50', a.p50],
    ['p90', a.p90],
    ['p99', a.p99],
  ] as const) {
    const b = p && buckets.find((x) => x.low === p.low && x.high === p.high);
    if (b) marks.set(b, [...(marks.get(b) ?? []), name]);
  }
  const body = buckets.flatMap((b, i) => {
    const y = top + i * rowH;
    const w = (b.count / max) * barMax;
    const x0 = 16 + labelW;
    return [
      `<text x="${16 + labelW - 8}" y="${y + 14}" text-anchor="end">${xmlEscape(bucketLabel(b))}</text>`,
      `<rect x="${x0}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${marks.has(b) ? '#d9602b' : '#4a7fb5'}"/>`,
      `<text x="${x0 + barMax + countW - 8}" y="${y + 14}" text-anchor="end">${b.count}</text>`,
      ...(marks.has(b) ? [`<text class="s" x="${x0 + barMax + countW + 4}" y="${y + 14}">◀ ${marks.get(b)!.join(' ')}</text>`] : []),
    ];
  });
  // The figures exactly as the analysis gives them, so the picture and the result agree.
  const fmt = (p: HistogramAnalysis['p50']) => (p ? String(p.value) : '-');
  const sub = `${a.total} samples${unit ? ` (${unit})` : ''}, ${a.scale} buckets; p50 ≈ ${fmt(a.p50)}, p90 ≈ ${fmt(a.p90)}, p99 ≈ ${fmt(a.p99)}, max ${a.max_is_lower_bound ? '≥' : '≤'} ${a.max ?? '-'}${a.bimodal ? '; bimodal' : ''}`;
  return frame(W, top + buckets.length * rowH + 16, title, sub, body);
}

export interface Series {
  name: string;
  points: readonly number[];
}

const PALETTE = ['#4a7fb5', '#d9602b', '#3f9b55', '#9a5bb5', '#b59a2b', '#2bb5b0'];

/** A line per series over the intervals, with a y axis from zero and a legend. */
export function timeSeriesChart(title: string, series: readonly Series[], opts: { intervalSeconds?: number; unit?: string } = {}): string {
  const height = 380;
  const left = 70;
  const right = 160;
  const top = 64;
  const bottom = 44;
  const pw = W - left - right;
  const ph = height - top - bottom;
  const n = Math.max(...series.map((s) => s.points.length), 1);
  const ymax = niceCeil(Math.max(1, ...series.flatMap((s) => s.points)));
  const x = (i: number) => left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => top + ph - (v / ymax) * ph;
  const body: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    body.push(
      `<line class="g" x1="${left}" x2="${left + pw}" y1="${y(v)}" y2="${y(v)}"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${shortNumber(v)}</text>`,
    );
  }
  body.push(
    `<line class="ax" x1="${left}" x2="${left + pw}" y1="${top + ph}" y2="${top + ph}"/>`,
    `<line class="ax" x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}"/>`,
  );
  const step = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i < n; i += step) {
    const label = opts.intervalSeconds ? `${+((i + 1) * opts.intervalSeconds).toFixed(2)}s` : `${i + 1}`;
    body.push(`<text x="${x(i)}" y="${top + ph + 18}" text-anchor="middle">${label}</text>`);
  }
  body.push(`<text class="s" x="${left + pw / 2}" y="${height - 8}" text-anchor="middle">${opts.intervalSeconds ? 'time' : 'interval'}</text>`);
  series.forEach((s, k) => {
    const c = PALETTE[k % PALETTE.length];
    const pts = s.points.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    body.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    for (let i = 0; i < s.points.length; i++) body.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(s.points[i]).toFixed(1)}" r="3" fill="${c}"/>`);
    body.push(
      `<rect x="${left + pw + 16}" y="${top + k * 20}" width="12" height="12" fill="${c}"/>`,
      `<text x="${left + pw + 34}" y="${top + k * 20 + 11}">${xmlEscape(s.name.slice(0, 18))}</text>`,
    );
  });
  const sub = `${n} intervals${opts.intervalSeconds ? ` of ${opts.intervalSeconds} s` : ''}${opts.unit ? `, ${opts.unit}` : ''}`;
  return frame(W, height, title, sub, body);
}

/** Horizontal bars of the top keys, largest first, with each one's share of the total. */
export function barChart(title: string, bars: readonly { key: string; value: number; share_percent?: number }[], total?: number): string {
  const rowH = 22;
  const top = 62;
  const labelW = 220;
  const barMax = W - 16 - labelW - 150;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const body = bars.flatMap((b, i) => {
    const y = top + i * rowH;
    const w = (Math.max(0, b.value) / max) * barMax;
    const label = b.key.length > 30 ? `${b.key.slice(0, 29)}…` : b.key;
    return [
      `<text x="${16 + labelW - 8}" y="${y + 15}" text-anchor="end">${xmlEscape(label)}</text>`,
      `<rect x="${16 + labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="#4a7fb5"/>`,
      `<text x="${16 + labelW + w + 6}" y="${y + 15}">${b.value}${b.share_percent !== undefined ? ` (${b.share_percent}%)` : ''}</text>`,
    ];
  });
  return frame(
    W,
    top + bars.length * rowH + 16,
    title,
    total !== undefined ? `top ${bars.length} keys of ${shortNumber(total)} in all` : `${bars.length} keys`,
    body,
  );
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A histogram for a terminal, in bpftrace's own layout (label, count, bar of `@`): its renderer. */
export const terminalHistogram = (buckets: readonly Bucket[]): string[] =>
  renderHist(buckets.map((b) => ({ min: b.low ?? undefined, max: b.high ?? undefined, count: b.count })));
