/**
 * The flame graph view: one run's stacks, or compare_runs' differential (b's widths, coloured by
 * the change from a). The stacks are analyze_output's folded text, the same the SVG and PNG
 * are drawn from, so the pictures and this view never disagree.
 */
import './style.css';
import type { Opened, ViewHost } from './host';
import { analysisArgs, page, showOnce, structured } from './page';
import { renderFlameGraph } from './flame/flamegraph';
import type { Analysis } from './maps';

async function folded(host: ViewHost, id: string, focus?: string): Promise<{ text: string; map?: string } | undefined> {
  const a = structured<Analysis>(await host.call('analyze_output', analysisArgs(id, { folded: true, ...(focus ? { focus } : {}) })));
  if (!a) return undefined;
  return { text: a.folded ?? '', map: a.stacks?.[0]?.map };
}

async function show(host: ViewHost, o: Opened) {
  type Comparison = { a?: string; b?: string; summary?: string; stacks?: { map: string }[] };
  let r = o.result?.structuredContent as Comparison | undefined;
  const a = r?.a ?? (o.input.a as string | undefined);
  const b = r?.b ?? (o.input.b as string | undefined);
  // A page opened on two runs (the history's Compare): compare_runs says what changed, and which stack map they share.
  if (a && b && !r) {
    r = structured<Comparison>(await host.call('compare_runs', { a, b, png: false, flamegraph: false }));
    if (!r) return true;
  }
  const id = b ?? (o.input.execution_id as string | undefined);
  if (!id) return false;
  const focus = r?.stacks?.[0]?.map ?? (o.input.focus as string | undefined);
  const after = await folded(host, id, focus);
  if (!after) return true;
  const before = a ? await folded(host, a, focus ?? after.map) : undefined;
  if (a && !before) return true;
  page.title(a ? `Differential flame graph: ${a} → ${b}` : `Flame graph of ${id}${after.map ? ` (${after.map})` : ''}`);
  if (r?.summary) page.summary(r.summary);
  if (!after.text.trim()) {
    page.fail(`${id} has no stack map to draw. Trace stacks with a map keyed by kstack or ustack, e.g. profile:hz:99 { @[kstack] = count(); }.`);
    return true;
  }
  // The first render, from the stacks in hand to painted, as a standard measure (npm run bench:ui reads it).
  performance.mark('mcptrace-flame-start');
  renderFlameGraph(page.body(), after.text, { title: after.map, baseline: before?.text });
  requestAnimationFrame(() => requestAnimationFrame(() => performance.measure('mcptrace-flame-first-render', 'mcptrace-flame-start')));
  return true;
}

await showOnce('flamegraph', show);
