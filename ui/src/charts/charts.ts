// The server's own labels (pure code, bundled in): a view and the SVG/PNG name buckets alike.
import { bucketLabel, SIZE_SUFFIXES as SUFFIXES } from '../../../src/analysis/bucket-label.js';
import { compact, h, s } from '../dom';
import './charts.css';

/** A histogram bucket: inclusive bounds, null where bpftrace leaves it open. */
export interface Bucket {
  low: number | null;
  high: number | null;
  count: number;
}

export interface Percentile {
  value: number;
  low: number | null;
  high: number | null;
}

const HEIGHT = 220;
// Chart text is 11px monospace (charts.css), so a label's width is known without measuring it.
const CHAR_W = 6.7;
const textWidth = (t: string) => t.length * CHAR_W;

/** An estimate in the units of the bucket labels: 1234 → 1.2K (1024s, like the buckets). */
function human(v: number): string {
  let i = 0;
  while (Math.abs(v) >= 1024 && i < SUFFIXES.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = Number.isInteger(v) ? 0 : Math.abs(v) < 100 ? 1 : 0;
  return `${Number(v.toFixed(digits))}${SUFFIXES[i]}`;
}

/** 3–5 round ticks covering lo..hi. */
function ticks(lo: number, hi: number, want = 4): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const mag = 10 ** Math.floor(Math.log10(span / want));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= want) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v < hi + step - step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out.length < 2) out.push(out[0] + step);
  return out;
}

function svgFor(fig: HTMLElement, height: number, label: string): { svg: SVGSVGElement; width: number } {
  const width = Math.max(320, Math.round(fig.clientWidth) || 640);
  const svg = s('svg', { role: 'img', 'aria-label': label, viewBox: `0 0 ${width} ${height}`, width: '100%', preserveAspectRatio: 'xMinYMin meet' });
  return { svg, width };
}

function figure(container: HTMLElement, kind: string, title: string, note: string): HTMLElement {
  const fig = h('figure', { class: `chart ${kind}` }, h('figcaption', {}, title, note ? h('span', { class: 'muted' }, ` · ${note}`) : null));
  container.append(fig);
  return fig;
}

/** The numbers for screen readers. Hidden by a wrapper: a table ignores the width and overflow that .sr-only sets, and would widen the page. */
function table(caption: string, head: string[], rows: (string | number)[][]): HTMLElement {
  return h(
    'div',
    { class: 'sr-only' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, String(c)))))),
    ),
  );
}

function yAxis(svg: SVGSVGElement, marks: number[], y: (v: number) => number, left: number, right: number): void {
  const g = s('g', { class: 'axis' });
  for (const t of marks) {
    g.append(s('line', { class: 'grid', x1: left, x2: right, y1: y(t), y2: y(t) }), s('text', { x: left - 6, y: y(t) + 4, 'text-anchor': 'end' }, compact(t)));
  }
  svg.append(g);
}

const withTitle = <T extends SVGElement>(el: T, title: string): T => {
  el.prepend(s('title', {}, title));
  return el;
};

/**
 * A histogram as bars per bucket (empty buckets at either end trimmed), with p50/p90/p99 as dashed
 * lines placed inside their bucket where the estimate interpolates.
 */
export function renderHistogram(
  container: HTMLElement,
  hist: { title: string; unit?: string | null; buckets: Bucket[]; percentiles?: { p50?: Percentile; p90?: Percentile; p99?: Percentile }; max?: number | null },
): HTMLElement {
  let first = hist.buckets.findIndex((b) => b.count > 0);
  let last = hist.buckets.length - 1 - [...hist.buckets].reverse().findIndex((b) => b.count > 0);
  if (first < 0) [first, last] = [0, hist.buckets.length - 1];
  const buckets = hist.buckets.slice(first, last + 1);
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const pcts = (['p50', 'p90', 'p99'] as const).flatMap((k) => (hist.percentiles?.[k] ? [[k, hist.percentiles[k]] as const] : []));
  const unit = hist.unit ? ` ${hist.unit}` : '';
  const note = [
    `${compact(total)} samples`,
    hist.unit ? `values in ${hist.unit}` : '',
    hist.max !== null && hist.max !== undefined ? `max ${human(hist.max)}${unit}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const summary = `${hist.title}: histogram of ${total} samples in ${buckets.length} buckets${pcts.map(([k, p]) => `, ${k} ${human(p.value)}${unit}`).join('')}`;
  const fig = figure(container, 'histogram', hist.title, note);
  const { svg, width } = svgFor(fig, HEIGHT, summary);

  const left = 48;
  const right = width - 12;
  const top = 50;
  const bottom = HEIGHT - 24;
  const marks = ticks(0, Math.max(1, ...buckets.map((b) => b.count)));
  const ymax = marks[marks.length - 1];
  const y = (v: number) => bottom - (v / ymax) * (bottom - top);
  yAxis(svg, marks, y, left, right);

  const slot = buckets.length ? (right - left) / buckets.length : 0;
  const barW = Math.max(1, slot * 0.86);
  const barX = (i: number) => left + i * slot + (slot - barW) / 2;
  const labels = buckets.map(bucketLabel);
  // Every k-th label, so the widest fits its slots.
  const stride = Math.max(1, Math.ceil((Math.max(0, ...labels.map(textWidth)) + 8) / Math.max(slot, 1)));
  const bars = s('g', { class: 'bars' });
  const axis = s('g', { class: 'axis' });
  buckets.forEach((b, i) => {
    bars.append(
      withTitle(s('rect', { class: 'bar', x: barX(i), y: y(b.count), width: barW, height: Math.max(0, bottom - y(b.count)) }), `${labels[i]}: ${b.count}`),
    );
    if (i % stride === 0) axis.append(s('text', { x: barX(i) + barW / 2, y: bottom + 15, 'text-anchor': stride > 1 ? 'start' : 'middle' }, labels[i]));
  });
  axis.append(s('line', { class: 'baseline', x1: left, x2: right, y1: bottom, y2: bottom }));
  svg.append(bars, axis);

  // Labels of markers that would overlap go up a row; p99 and p90 often sit in one bucket.
  const rows: [number, number][][] = [[], [], []];
  for (const [key, p] of pcts) {
    let i = buckets.findIndex((b) => b.low === p.low && b.high === p.high);
    if (i < 0) i = buckets.findIndex((b) => (b.low === null || p.value >= b.low) && (b.high === null || p.value <= b.high + 1));
    if (i < 0) continue;
    const b = buckets[i];
    const frac = b.low === null ? 1 : b.high === null ? 0 : Math.min(1, Math.max(0, (p.value - b.low) / (b.high + 1 - b.low)));
    const x = barX(i) + frac * barW;
    const text = `${key} ${human(p.value)}`;
    const tw = textWidth(text);
    const cx = Math.min(Math.max(x, left + tw / 2), width - 2 - tw / 2);
    const span: [number, number] = [cx - tw / 2 - 4, cx + tw / 2 + 4];
    let row = rows.findIndex((r) => r.every(([a, z]) => span[1] < a || span[0] > z));
    if (row < 0) row = rows.length - 1;
    rows[row].push(span);
    const ty = top - 6 - row * 14;
    // The exact estimate is in the screen-reader table; the marker's text is its label alone.
    svg.append(
      s(
        'g',
        { class: 'percentile', 'data-percentile': key },
        s('line', { x1: x, x2: x, y1: ty + 3, y2: bottom }),
        s('text', { x: cx, y: ty, 'text-anchor': 'middle' }, text),
      ),
    );
  }
  fig.append(
    svg,
    table(
      hist.title,
      ['Bucket', 'Count'],
      buckets.map((b, i) => [labels[i], b.count]),
    ),
  );
  if (pcts.length)
    fig.append(
      table(
        `${hist.title}: percentiles`,
        ['Percentile', 'Value'],
        pcts.map(([k, p]) => [k, `${p.value}${unit}`]),
      ),
    );
  return fig;
}

/** One value per interval as a line over time, with its minimum and maximum labelled. */
export function renderSeries(
  container: HTMLElement,
  series: { title: string; points: number[]; intervalSeconds?: number | null; unit?: string | null },
): HTMLElement {
  const pts = series.points;
  const step = series.intervalSeconds ?? null;
  const unit = series.unit ? ` ${series.unit}` : '';
  const at = (i: number) => (step ? `${Number((i * step).toFixed(3))}s` : `#${i + 1}`);
  // Not Math.min(...pts): a long series would overflow the call's arguments.
  const lo = pts.reduce((m, v) => (v < m ? v : m), pts[0] ?? 0);
  const hi = pts.reduce((m, v) => (v > m ? v : m), pts[0] ?? 0);
  const imin = pts.indexOf(lo);
  const imax = pts.indexOf(hi);
  const summary = pts.length
    ? `${series.title}: ${pts.length} points${step ? ` over ${at(pts.length - 1)}` : ''}; min ${compact(lo)}${unit} at ${at(imin)}, max ${compact(hi)}${unit} at ${at(imax)}, last ${compact(pts[pts.length - 1])}${unit}`
    : `${series.title}: no data`;
  const note = [`${pts.length} points`, step ? `every ${step}s` : '', series.unit ? `values in ${series.unit}` : ''].filter(Boolean).join(' · ');
  const fig = figure(container, 'series', series.title, note);
  const { svg, width } = svgFor(fig, HEIGHT, summary);

  const left = 52;
  const right = width - 16;
  const top = 24;
  const bottom = HEIGHT - 26;
  const marks = ticks(Math.min(0, lo), Math.max(hi, Math.min(0, lo) + 1));
  const y0 = marks[0];
  const y1 = marks[marks.length - 1];
  const y = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  const x = (i: number) => (pts.length <= 1 ? (left + right) / 2 : left + (i / (pts.length - 1)) * (right - left));
  yAxis(svg, marks, y, left, right);
  const axis = s('g', { class: 'axis' });
  axis.append(s('line', { class: 'baseline', x1: left, x2: right, y1: bottom, y2: bottom }));
  if (pts.length) {
    const xt = pts.length > 2 ? [0, Math.round((pts.length - 1) / 2), pts.length - 1] : [...pts.keys()];
    for (const i of xt) axis.append(s('text', { x: x(i), y: bottom + 16, 'text-anchor': i === 0 ? 'start' : i === pts.length - 1 ? 'end' : 'middle' }, at(i)));
  }
  svg.append(axis);
  if (pts.length) {
    svg.append(s('polyline', { class: 'line', points: pts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }));
    const dots = s('g', { class: 'points' });
    const r = pts.length > 60 ? 1.5 : 3;
    pts.forEach((v, i) => dots.append(withTitle(s('circle', { class: 'point', cx: x(i), cy: y(v), r }), `${at(i)}: ${v}${unit}`)));
    svg.append(dots);
    const label = (i: number, text: string, above: boolean) => {
      const tw = textWidth(text);
      const cx = Math.min(Math.max(x(i), left + tw / 2 + 2), right - tw / 2);
      return s(
        'text',
        { class: 'extreme', x: cx, y: above ? Math.max(12, y(pts[i]) - 8) : Math.min(bottom - 4, y(pts[i]) + 16), 'text-anchor': 'middle' },
        text,
      );
    };
    svg.append(label(imax, `max ${compact(hi)}`, true));
    if (imin !== imax) svg.append(label(imin, `min ${compact(lo)}`, false));
  }
  fig.append(
    svg,
    table(
      series.title,
      [step ? 'Time' : 'Interval', `Value${unit}`],
      pts.map((v, i) => [at(i), v]),
    ),
  );
  return fig;
}

/** The largest keys of a count map as horizontal bars with their value and share. */
export function renderTopKeys(
  container: HTMLElement,
  counts: { title: string; top: { key: string; value: number; share_percent: number }[]; total?: number },
): HTMLElement {
  const top = counts.top;
  const note = [`top ${top.length}`, counts.total !== undefined ? `of ${compact(counts.total)} total` : ''].filter(Boolean).join(' ');
  const summary = top.length
    ? `${counts.title}: top ${top.length} keys; ${top
        .slice(0, 3)
        .map((t) => `${t.key} ${t.value} (${t.share_percent}%)`)
        .join(', ')}${top.length > 3 ? ', …' : ''}`
    : `${counts.title}: no keys`;
  const rowH = 22;
  const height = Math.max(60, top.length * rowH + 12);
  const fig = figure(container, 'topkeys', counts.title, note);
  const { svg, width } = svgFor(fig, height, summary);

  const valueText = (t: (typeof top)[number]) => `${compact(t.value)} (${t.share_percent}%)`;
  const valueW = Math.max(0, ...top.map((t) => textWidth(valueText(t)))) + 10;
  const labelW = Math.min(width * 0.4, Math.max(40, ...top.map((t) => textWidth(t.key))));
  const maxChars = Math.max(4, Math.floor(labelW / CHAR_W));
  const x0 = 8 + labelW + 8;
  const barMax = Math.max(10, width - x0 - valueW - 8);
  const vmax = Math.max(1e-9, ...top.map((t) => t.value));
  top.forEach((t, i) => {
    const yy = 6 + i * rowH;
    const w = Math.max(1, (t.value / vmax) * barMax);
    const key = t.key.length > maxChars ? `${t.key.slice(0, maxChars - 1)}…` : t.key;
    svg.append(
      withTitle(
        s(
          'g',
          { class: 'row' },
          s('text', { class: 'key', x: 8 + labelW, y: yy + 15, 'text-anchor': 'end' }, key),
          s('rect', { class: 'bar', x: x0, y: yy + 3, width: w, height: rowH - 6 }),
          s('text', { class: 'value', x: x0 + w + 6, y: yy + 15 }, valueText(t)),
        ),
        `${t.key}: ${t.value} (${t.share_percent}%)`,
      ),
    );
  });
  fig.append(
    svg,
    table(
      counts.title,
      ['Key', 'Value', 'Share'],
      top.map((t) => [t.key, t.value, `${t.share_percent}%`]),
    ),
  );
  return fig;
}
