import type { AnalysisDetail, AnalysisResult } from '../analysis/analyze.js';
import { terminalHistogram } from '../analysis/charts.js';
import type { Comparison } from '../analysis/compare.js';

const where = (map: string, key: string | null) => (key === null ? map : `${map}[${key}]`);

/** The analysis for a terminal or a model: the summary first, then each finding as a short block. */
export function renderAnalysisText(r: AnalysisResult, d: AnalysisDetail, pictures: string[]): string {
  const out = [`${r.execution_id}${r.tool ? ` (${r.tool})` : ''}: ${r.summary}`];
  for (const c of r.counts) {
    out.push('', `${c.map} — top ${c.top.length} of ${c.keys} keys (total ${c.total}${c.aggregation ? `, ${c.aggregation}` : ''})`);
    const w = Math.max(...c.top.map((t) => t.key.length), 3);
    for (const t of c.top) out.push(`  ${t.key.padEnd(w)}  ${String(t.value).padStart(12)}  ${t.share_percent.toFixed(1).padStart(5)}%`);
  }
  for (const h of r.histograms) {
    const p = (x: typeof h.p50) => (x ? `${x.value}` : '-');
    out.push(
      '',
      `${where(h.map, h.key)} — ${h.total} samples, p50 ≈ ${p(h.p50)}, p90 ≈ ${p(h.p90)}, p99 ≈ ${p(h.p99)}, max ${h.max_is_lower_bound ? '≥' : '≤'} ${h.max ?? '-'}${h.bimodal ? ', bimodal' : ''}`,
    );
    out.push(...terminalHistogram(d.buckets.get(h) ?? []));
  }
  for (const s of r.stats) out.push(`${where(s.map, s.key)}: average ${s.average}${s.count !== null ? `, count ${s.count}, total ${s.total}` : ''}`);
  for (const s of r.series) {
    out.push('', `${where(s.map, s.key)} per interval${s.interval_seconds ? ` (${s.interval_seconds} s)` : ''}: ${s.points.join(' ')}`);
    out.push(`  mean ${s.mean}, ${s.trend.direction} (${s.trend.change_percent}%)${s.cumulative ? ', from running totals' : ''}`);
  }
  for (const s of r.stacks) {
    out.push('', `${s.map} — ${s.samples} samples in ${s.distinct_stacks} stacks; hottest leaf frames:`);
    for (const f of s.top_leaf_frames) out.push(`  ${String(f.samples).padStart(8)}  ${f.share_percent.toFixed(1).padStart(5)}%  ${f.frame}`);
  }
  if (r.events) {
    out.push(
      '',
      `${r.events.rows} ${r.events.source === 'rows' ? 'rows' : 'printf events'}${r.events.unparsed ? ` (${r.events.unparsed} lines of another shape left out)` : ''}:`,
    );
    for (const c of r.events.columns) {
      if (c.numeric)
        out.push(`  ${c.name} (${c.role}): min ${c.numeric.min}, p50 ${c.numeric.p50}, p90 ${c.numeric.p90}, p99 ${c.numeric.p99}, max ${c.numeric.max}`);
      else if (c.top) out.push(`  ${c.name} (${c.role}, ${c.distinct} distinct): ${c.top.map((t) => `${t.value} ${t.count}`).join(', ')}`);
    }
  }
  if (pictures.length) out.push('', `pictures: ${pictures.join(', ')}`);
  return out.join('\n');
}

export function renderComparisonText(c: Comparison): string {
  const out = [`${c.a} → ${c.b}: ${c.summary}`];
  for (const m of c.maps) {
    out.push('', `${m.map}: total ${m.total_a} → ${m.total_b}`);
    for (const [label, list] of [
      ['appeared', m.appeared],
      ['disappeared', m.disappeared],
      ['moved', m.moved],
    ] as const) {
      if (list.length)
        out.push(
          `  ${label}: ${list.map((k) => `${k.key} ${k.a} → ${k.b}${k.change_percent !== null ? ` (${k.change_percent > 0 ? '+' : ''}${k.change_percent}%)` : ''}`).join(', ')}`,
        );
    }
  }
  for (const h of c.histograms) {
    out.push('', `${where(h.map, h.key)}: ${h.samples_a} → ${h.samples_b} samples`);
    for (const p of h.percentiles)
      out.push(
        `  ${p.p.padEnd(4)} ${String(p.a ?? '-').padStart(12)} → ${String(p.b ?? '-').padEnd(12)}${p.change_percent !== null ? ` ${p.change_percent > 0 ? '+' : ''}${p.change_percent}%` : ''}`,
      );
  }
  for (const s of c.stacks) {
    out.push('', `${s.map}: ${s.samples_a} → ${s.samples_b} samples (leaf frames, % of samples)`);
    for (const f of [...s.frames_grown, ...s.frames_shrunk]) out.push(`  ${f.key}: ${f.a}% → ${f.b}%`);
  }
  return out.join('\n');
}
