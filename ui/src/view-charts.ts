/**
 * The charts view: analyze_output's findings drawn over the run's own buckets (get_result's
 * maps): histograms with p50/p90/p99 marked, per-interval series, top keys, and the flame graph
 * when the run has a stack map.
 */
import './style.css';
import type { Opened, ViewHost } from './host';
import { analysisArgs, page, showOnce, structured } from './page';
import { renderMaps, type Analysis, type Maps } from './maps';

async function show(host: ViewHost, o: Opened) {
  const id = ((o.result?.structuredContent as { execution_id?: string } | undefined)?.execution_id ?? o.input.execution_id) as string | undefined;
  if (!id) return false;
  const focus = o.input.focus as string | undefined;
  let analysis = o.result ? structured<Analysis>(o.result) : undefined;
  if (o.result && !analysis) return true;
  if (!analysis || (analysis.stacks?.length && analysis.folded === undefined)) {
    analysis = structured<Analysis>(await host.call('analyze_output', analysisArgs(id, { folded: true, ...(focus ? { focus } : {}) })));
    if (!analysis) return true;
  }
  page.title(`Analysis of ${id}`);
  page.summary(analysis.summary ?? '');
  // A saved output file has no run to read maps from: the findings alone are drawn.
  const run = await host.call('get_result', { execution_id: id, limit: 1, include_maps: true });
  const maps = (run.isError ? {} : ((run.structuredContent as { maps?: Maps } | undefined)?.maps ?? {})) as Maps;
  renderMaps(page.body(), maps, analysis);
  return true;
}

await showOnce('charts', show);
