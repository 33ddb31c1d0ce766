/**
 * The history page (/ui/): the newest runs, or a search over every recorded run's program,
 * input, error and output (search_history); open one in the live, charts or flame graph view,
 * or pick two to compare.
 */
import './style.css';
import { connectHost } from './host';
import { h } from './dom';
import { structured } from './page';

interface Row {
  execution_id: string;
  tool: string;
  status: string;
  started_at?: string | null;
  created_at?: string;
  lines_total?: number;
  summary?: string;
  snippet?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const host = await connectHost('history');
const selected = new Set<string>();

const link = (href: string, text: string, label: string) => h('a', { href, 'aria-label': label }, text);
const when = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : '');

function render(rows: Row[], what: string) {
  $('count').textContent = `${rows.length} ${rows.length === 1 ? 'run' : 'runs'}${what}`;
  selected.clear();
  updateCompare();
  $('runs')
    .querySelector('tbody')!
    .replaceChildren(
      ...rows.map((r) => {
        const id = r.execution_id;
        const q = `execution_id=${encodeURIComponent(id)}`;
        const box = h('input', { type: 'checkbox', 'aria-label': `Select ${id} to compare` });
        box.addEventListener('change', () => {
          if (box.checked) selected.add(id);
          else selected.delete(id);
          updateCompare();
        });
        return h(
          'tr',
          {},
          h('td', {}, box),
          h('td', { class: 'mono nowrap' }, link(`/ui/live?${q}`, id, `Output of ${id}`)),
          h('td', {}, r.tool),
          h('td', {}, h('span', { class: `badge status-${r.status}` }, r.status)),
          h('td', { class: 'nowrap' }, when(r.started_at ?? r.created_at)),
          h('td', {}, r.lines_total === undefined ? '' : String(r.lines_total)),
          h('td', { class: 'mono what' }, r.snippet ?? r.summary ?? ''),
          h(
            'td',
            { class: 'nowrap' },
            link(`/ui/charts?${q}`, 'charts', `Charts of ${id}`),
            ' · ',
            link(`/ui/flamegraph?${q}`, 'flame graph', `Flame graph of ${id}`),
          ),
        );
      }),
    );
}

function updateCompare() {
  const b = $<HTMLButtonElement>('compare');
  b.disabled = selected.size !== 2;
  b.textContent = selected.size === 2 ? 'Compare the 2 selected' : `Compare 2 selected (${selected.size} now)`;
}

async function load() {
  $('error').hidden = true;
  const query = $<HTMLInputElement>('query').value.trim();
  const status = $<HTMLSelectElement>('status').value;
  if (query) {
    const r = structured<{ groups: { runs: Row[] }[] }>(
      await host.call('search_history', { query, include_failed: true, limit: 100, ...(status ? { status } : {}) }),
    );
    if (r)
      render(
        r.groups.flatMap((g) => g.runs),
        ` matching “${query}”`,
      );
  } else {
    const r = structured<{ executions: Row[] }>(await host.call('list_executions', { limit: 200, ...(status ? { status } : {}) }));
    if (r) render([...r.executions].reverse(), ', newest first');
  }
}

$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  void load();
});
$('compare').addEventListener('click', () => {
  const [a, b] = [...selected];
  location.assign(`/ui/flamegraph?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
});
host.onOpened((o) => {
  if (typeof o.input.q === 'string') $<HTMLInputElement>('query').value = o.input.q;
  void load();
});
