/**
 * The live run: status, the streaming tail of the output, the maps as they are printed, and a
 * Stop button. It follows the run with get_result's long poll (wait: new lines or the end),
 * so a line reaches the page within one round trip without a request per line; at the end it
 * reads the final maps and analyze_output's findings and draws them.
 */
import './style.css';
import './view-live.css';
import { connectHost, textOf, type Opened, type ToolResult, type ViewHost } from './host';
import { renderMaps, type Analysis, type Maps } from './maps';
import { compact } from './dom';

/** Lines kept on the page: the tail is what a person watches; the whole output stays on the server. */
const SHOWN_LINES = 2000;
/** At most one request and one repaint per this many ms, so 10k lines/s arrive in batches. */
const POLL_GAP_MS = 150;
/** Maps while running are re-read this often (they can be large). */
const MAPS_EVERY_MS = 2000;

interface Execution {
  execution_id: string;
  tool?: string | null;
  status: string;
  phase?: string;
  output?: string[];
  next_offset?: number;
  lines_total?: number;
  has_more?: boolean;
  dropped?: { lines: number };
  error_message?: string | null;
  hint?: string | null;
  duration?: number | null;
  maps?: Maps;
  hosts?: unknown[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const stats = { lines: 0, polls: 0, paints: 0 };
(window as unknown as { __mcptraceLive: typeof stats }).__mcptraceLive = stats;

const ended = (e: Execution) => e.phase === 'ended' || !['queued', 'running'].includes(e.status);

class LiveView {
  private tail: string[] = [];
  private offset = 0;
  private mapsJson = '';
  private mapsAt = 0;
  private stopping = false;

  constructor(
    private host: ViewHost,
    private id: string,
  ) {
    $('stop').addEventListener('click', () => void this.stop());
  }

  async follow(first: Execution) {
    this.show(first);
    let e = first;
    while (!ended(e)) {
      const started = performance.now();
      const wantMaps = started - this.mapsAt > MAPS_EVERY_MS;
      const r = await this.host.call('get_result', { execution_id: this.id, offset: this.offset, limit: 10000, wait: 1, include_maps: wantMaps });
      const next = this.execution(r);
      if (!next) return;
      if (wantMaps) this.mapsAt = started;
      e = next;
      this.show(e);
      const left = POLL_GAP_MS - (performance.now() - started);
      if (left > 0 && !ended(e)) await new Promise((res) => setTimeout(res, left));
    }
    await this.finish(e);
  }

  /** The run has ended: the rest of its lines, every map, and the analysis. */
  private async finish(e: Execution) {
    while (e.has_more) {
      const next = this.execution(await this.host.call('get_result', { execution_id: this.id, offset: this.offset, limit: 10000 }));
      if (!next) return;
      e = next;
      this.show(e);
    }
    const final = this.execution(await this.host.call('get_result', { execution_id: this.id, offset: this.offset, limit: 1, include_maps: true }));
    if (!final?.maps || Object.keys(final.maps).length === 0) return;
    const a = await this.host.call('analyze_output', { execution_id: this.id, png: false, picture: 'none', folded: true });
    const analysis = a.isError ? undefined : (a.structuredContent as Analysis | undefined);
    this.drawMaps(final.maps, analysis, true);
  }

  private execution(r: ToolResult): Execution | undefined {
    const e = r.structuredContent as Execution | undefined;
    if (!e?.execution_id) {
      this.fail(textOf(r) || 'The server answered without a run.');
      return undefined;
    }
    return e;
  }

  private show(e: Execution) {
    stats.polls++;
    const lines = e.output ?? [];
    if (lines.length) {
      stats.lines += lines.length;
      this.tail.push(...lines);
      if (this.tail.length > SHOWN_LINES) this.tail.splice(0, this.tail.length - SHOWN_LINES);
      this.paint();
    }
    if (e.next_offset !== undefined) this.offset = e.next_offset;
    const status = $('status');
    const label = ended(e) ? e.status : e.phase && e.phase !== e.status ? `${e.status} (${e.phase})` : e.status;
    if (status.textContent !== label) {
      status.textContent = label;
      status.className = `badge status-${e.status}`;
    }
    $<HTMLButtonElement>('stop').disabled = ended(e) || this.stopping;
    const total = e.lines_total ?? this.offset;
    const dropped = e.dropped?.lines ? `, ${compact(e.dropped.lines)} dropped past the output limit` : '';
    const shown = total > this.tail.length ? ` (the last ${compact(this.tail.length)} shown)` : '';
    $('counts').textContent = `${compact(total)} lines${shown}${dropped}${e.duration ? ` · ${e.duration.toFixed(1)} s` : ''}`;
    if (e.error_message) this.fail(`${e.error_message}${e.hint ? `\n${e.hint}` : ''}`);
    if (e.maps) this.drawMaps(e.maps, undefined, false);
  }

  private paint() {
    const out = $('output');
    // Pinned to the bottom unless the reader scrolled up to look at something.
    const pinned = out.scrollTop + out.clientHeight >= out.scrollHeight - 24;
    out.textContent = this.tail.join('\n');
    if (pinned) out.scrollTop = out.scrollHeight;
    stats.paints++;
  }

  private drawMaps(maps: Maps, analysis: Analysis | undefined, final: boolean) {
    const json = JSON.stringify(maps);
    if (!final && json === this.mapsJson) return;
    this.mapsJson = json;
    renderMaps($('maps'), maps, analysis);
  }

  private async stop() {
    this.stopping = true;
    const button = $<HTMLButtonElement>('stop');
    button.disabled = true;
    button.textContent = 'Stopping…';
    // The follow loop sees the end and reads the maps END printed; this call only asks for it.
    const r = await this.host.call('stop_execution', { execution_id: this.id, wait: 0, include_maps: false });
    if (r.isError) this.fail(textOf(r));
    button.textContent = 'Stop';
  }

  fail(text: string) {
    const el = $('error');
    el.hidden = false;
    el.textContent = text;
  }
}

function start(host: ViewHost, o: Opened, running: { view?: LiveView }) {
  if (running.view) return;
  const e = o.result?.structuredContent as Execution | undefined;
  if (o.result && !e?.execution_id) {
    // A dry run or an error before anything started: its text is the whole answer.
    $('status').textContent = o.result.isError ? 'error' : 'no run';
    $('output').textContent = textOf(o.result);
    return;
  }
  const id = e?.execution_id ?? (typeof o.input.execution_id === 'string' ? o.input.execution_id : undefined);
  if (!id) return; // an app's tool input: the result follows
  $('title').textContent = e?.tool ?? (o.input.tool as string | undefined) ?? 'Live run';
  $('meta').textContent = id;
  const view = new LiveView(host, id);
  running.view = view;
  const first = e
    ? Promise.resolve(e)
    : host.call('get_result', { execution_id: id, offset: 0, limit: 10000 }).then((r) => {
        const x = r.structuredContent as Execution | undefined;
        if (!x?.execution_id) throw new Error(textOf(r));
        return x;
      });
  first.then((x) => view.follow(x)).catch((err: Error) => view.fail(err.message));
}

const host = await connectHost('live');
const running: { view?: LiveView } = {};
host.onOpened((o) => start(host, o, running));
