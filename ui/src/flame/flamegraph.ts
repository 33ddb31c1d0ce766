import { compact, h } from '../dom';
import { diffTree, parseFolded, treeStats, type FlameNode } from './folded';
import './flame.css';

export interface FlameOptions {
  title?: string;
  /** Folded text of the run to compare with: frames keep this run's widths and are coloured by their change. */
  baseline?: string;
  /** Frames narrower than this are not drawn (default 0.5). */
  minWidthPx?: number;
}

export interface FlameGraph {
  /** Zooms to the frame at this path of names below the root 'all' ([] is the root); an unknown tail is ignored. */
  zoom(path: string[]): void;
  search(term: string): { matches: number; samples: number; percent: number };
  reset(): void;
  readonly element: HTMLElement;
}

const ROW = 18;
const LABEL_MIN = 20;
const GREY: Rgb = [209, 213, 219];
// The strongest diff colours that keep the frames' dark text (#111827) above 4.5:1.
const RED: Rgb = [255, 96, 96];
const BLUE: Rgb = [104, 144, 255];
type Rgb = [number, number, number];

let instances = 0;

/** FlameGraph's "hot" palette: a hash of the name picks a warm hue, light enough for dark text. */
function warm(name: string): string {
  let x = 2166136261;
  for (let i = 0; i < name.length; i++) x = Math.imul(x ^ name.charCodeAt(i), 16777619);
  x >>>= 0;
  return `hsl(${x % 51} ${75 + ((x >>> 8) % 21)}% ${66 + ((x >>> 16) % 11)}%)`;
}

const rgb = (c: Rgb) => `rgb(${c.join(',')})`;
const mix = (a: Rgb, b: Rgb, t: number) => rgb(a.map((v, i) => Math.round(v + (b[i] - v) * t)) as Rgb);
const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);
const minus = (s: string) => s.replace(/-/g, '\u2212');

function matcher(term: string): (name: string) => boolean {
  try {
    const re = new RegExp(term, 'i');
    return (name) => re.test(name);
  } catch {
    const t = term.toLowerCase();
    return (name) => name.toLowerCase().includes(t);
  }
}

/**
 * An interactive flame graph of folded stacks: root at the bottom, frames as positioned divs
 * (one DOM build per layout, no per-frame measuring), zoom, search, and one keyboard tab stop.
 */
export function renderFlameGraph(container: HTMLElement, folded: string, opts: FlameOptions = {}): FlameGraph {
  const diff = opts.baseline !== undefined;
  const root = diff ? diffTree(parseFolded(folded), parseFolded(opts.baseline as string)) : parseFolded(folded);
  const total = root.value;
  const minWidth = opts.minWidthPx ?? 0.5;
  // The baseline is scaled to this run's total, so a longer run alone changes nothing.
  const norm = diff && root.base ? total / root.base : 1;
  const uid = `flame-${++instances}`;

  const input = h('input', { type: 'search', 'aria-label': 'Search functions', placeholder: 'Search (regex)', spellcheck: 'false' });
  const resetBtn = h('button', { type: 'button' }, 'Reset zoom');
  const status = h('span', { role: 'status', class: 'flame-status' });
  const graph = h('div', {
    class: 'flame-graph',
    tabindex: 0,
    role: 'application',
    'aria-label': 'Flame graph. Up moves to a callee, Down to the caller, Left and Right to siblings; Enter zooms in, Escape resets, slash searches.',
  });
  const details = h('div', { class: 'flame-details' }, h('span', { class: 'muted' }, 'Hover or focus a frame for details.'));
  const hiddenNote = h('div', { class: 'flame-hidden muted' });
  const legend = diff
    ? h(
        'div',
        { class: 'flame-legend muted' },
        ...(
          [
            [rgb(RED), 'grew'],
            [rgb(BLUE), 'shrank'],
            [rgb(GREY), 'unchanged'],
          ] as const
        ).map(([c, label]) => h('span', {}, h('span', { class: 'swatch', style: `background:${c}` }), label)),
        h('span', {}, 'Width: this run. Colour: change vs the baseline scaled to the same total.'),
      )
    : null;
  const element = h(
    'div',
    { class: 'flame' },
    opts.title ? h('h2', { class: 'flame-title' }, opts.title) : null,
    h('div', { class: 'toolbar flame-toolbar' }, input, resetBtn, status),
    legend,
    graph,
    details,
    hiddenNote,
  );
  container.append(element);

  // Fractional, as the ResizeObserver reports it, so its first report does not lay out again.
  let width = graph.getBoundingClientRect().width;
  let chain: FlameNode[] = [root];
  let focused: FlameNode = root;
  let matches = new Set<FlameNode>();
  let found = { matches: 0, samples: 0, percent: 0 };
  let term = '';
  // Per layout: the drawn frames, their parents (for the keyboard and "% of parent") and elements.
  const drawn = new Map<FlameNode, { el: HTMLElement; parent: FlameNode | null }>();
  const byEl = new Map<Element, FlameNode>();
  const colours = new Map<string, string>();

  const colour = (n: FlameNode): string => {
    if (!diff) {
      let c = colours.get(n.name);
      if (!c) colours.set(n.name, (c = warm(n.name)));
      return c;
    }
    const expected = (n.base ?? 0) * norm;
    if (expected === 0) return rgb(n.value > 0 ? RED : GREY);
    const rel = (n.value - expected) / expected;
    if (Math.abs(rel) < 0.001) return rgb(GREY);
    return mix(GREY, rel > 0 ? RED : BLUE, Math.min(1, Math.sqrt(Math.abs(rel))));
  };

  const change = (n: FlameNode): string => {
    const expected = (n.base ?? 0) * norm;
    const delta = Math.round(n.value - expected);
    const rel = expected > 0 ? `${delta >= 0 ? '+' : ''}${((100 * (n.value - expected)) / expected).toFixed(1)}%` : 'new';
    return minus(`${delta >= 0 ? '+' : ''}${delta} vs baseline (${rel})`);
  };

  const tip = (n: FlameNode) => `${n.name} — ${n.value} samples (${pct(n.value, total).toFixed(2)}%)${diff ? `, ${change(n)}` : ''}`;

  const extend = (path: string, name: string) => (path === '[]' ? `[${JSON.stringify(name)}]` : `${path.slice(0, -1)},${JSON.stringify(name)}]`);

  function layout(): void {
    let deepest = 0;
    drawn.clear();
    byEl.clear();
    const frag = document.createDocumentFragment();
    const zoomed = chain[chain.length - 1];
    const scale = zoomed.value > 0 ? width / zoomed.value : 0;
    const draw = (n: FlameNode, parent: FlameNode | null, depth: number, x: number, w: number, path: string, ancestor: boolean) => {
      const el = document.createElement('div');
      el.className = `frame${ancestor ? ' ancestor' : ''}${w >= 3 ? ' sep' : ''}${matches.has(n) ? ' match' : ''}`;
      el.setAttribute('data-name', n.name);
      el.setAttribute('data-path', path);
      el.title = tip(n);
      // Rows count from the top of the deepest drawn frame (--top, set once the walk is done), so
      // stacks too narrow to draw leave no empty band above the graph.
      el.style.cssText = `left:${x}px;width:${w}px;top:calc((var(--top) - ${depth}) * ${ROW}px);--c:${colour(n)}`;
      if (depth > deepest) deepest = depth;
      if (w >= LABEL_MIN) el.textContent = n.name;
      frag.append(el);
      drawn.set(n, { el, parent });
      byEl.set(el, n);
    };
    let path = '[]';
    for (let i = 0; i < chain.length - 1; i++) {
      draw(chain[i], chain[i - 1] ?? null, i, 0, width, path, true);
      path = extend(path, chain[i + 1].name);
    }
    const walk = (n: FlameNode, parent: FlameNode | null, depth: number, x: number, path: string) => {
      const w = n.value * scale;
      if (w < minWidth || w === 0) return;
      draw(n, parent, depth, x, w, path, false);
      let cx = x;
      for (const c of n.children) {
        walk(c, n, depth + 1, cx, extend(path, c.name));
        cx += c.value * scale;
      }
    };
    walk(zoomed, chain[chain.length - 2] ?? null, chain.length - 1, 0, path);
    graph.style.setProperty('--top', String(deepest));
    graph.style.height = `${(deepest + 1) * ROW}px`;
    graph.replaceChildren(frag);
    const hidden = treeStats(zoomed).nodes - (drawn.size - chain.length + 1);
    hiddenNote.textContent = hidden ? `${hidden} ${hidden === 1 ? 'frame' : 'frames'} too narrow to draw` : '';
    focus(drawn.has(focused) ? focused : zoomed, false);
  }

  function showDetails(n: FlameNode | null): void {
    if (!n) {
      details.replaceChildren(h('span', { class: 'muted' }, 'Hover or focus a frame for details.'));
      return;
    }
    const parent = drawn.get(n)?.parent;
    details.replaceChildren(
      h('strong', {}, n.name),
      ` — ${n.value} samples · ${pct(n.value, total).toFixed(2)}% of total` +
        (parent ? ` · ${pct(n.value, parent.value).toFixed(2)}% of ${parent.name}` : '') +
        (diff ? ` · ${change(n)}` : ''),
    );
  }

  function focus(n: FlameNode, show = true): void {
    const old = drawn.get(focused)?.el;
    if (old && focused !== n) {
      old.classList.remove('focused');
      old.removeAttribute('id');
      old.removeAttribute('role');
      old.removeAttribute('aria-label');
    }
    focused = n;
    const el = drawn.get(n)?.el;
    if (!el) return graph.removeAttribute('aria-activedescendant');
    el.classList.add('focused');
    el.id = `${uid}-focus`;
    el.setAttribute('role', 'button');
    el.setAttribute('aria-label', el.title);
    graph.setAttribute('aria-activedescendant', el.id);
    if (show) showDetails(n);
  }

  function updateStatus(): void {
    const parts: string[] = [];
    if (chain.length > 1) parts.push(`Zoomed: ${chain[chain.length - 1].name}`);
    if (term) parts.push(`${found.matches} ${found.matches === 1 ? 'match' : 'matches'} · ${found.percent.toFixed(1)}% of samples`);
    status.textContent = parts.length ? parts.join(' · ') : `${compact(total)} samples`;
  }

  function zoomTo(next: FlameNode[]): void {
    chain = next;
    focused = next[next.length - 1];
    layout();
    showDetails(focused);
    updateStatus();
  }

  /** The path of root..n for a drawn frame, through the layout's parents. */
  function chainOf(n: FlameNode): FlameNode[] {
    const out = [n];
    for (let p = drawn.get(n)?.parent; p; p = drawn.get(p)?.parent) out.unshift(p);
    return out;
  }

  function zoomInto(n: FlameNode): void {
    if (n !== chain[chain.length - 1]) zoomTo(chainOf(n));
  }

  function search(t: string): { matches: number; samples: number; percent: number } {
    term = t;
    if (input.value !== t) input.value = t;
    const next = new Set<FlameNode>();
    let samples = 0;
    if (t) {
      const test = matcher(t);
      const seen = new Map<string, boolean>();
      // A match under a matched caller is already in its caller's samples.
      const walk = (n: FlameNode, under: boolean) => {
        let m = seen.get(n.name);
        if (m === undefined) seen.set(n.name, (m = test(n.name)));
        if (m) {
          next.add(n);
          if (!under) samples += n.value;
        }
        for (const c of n.children) walk(c, under || m);
      };
      for (const c of root.children) walk(c, false);
    }
    for (const [n, { el }] of drawn) if (matches.has(n) !== next.has(n)) el.classList.toggle('match', next.has(n));
    matches = next;
    found = { matches: next.size, samples, percent: pct(samples, total) };
    updateStatus();
    return { ...found };
  }

  graph.addEventListener('click', (e) => {
    const n = byEl.get((e.target as Element).closest('.frame') as Element);
    if (n) {
      zoomInto(n);
      focus(n);
    }
  });
  graph.addEventListener('mouseover', (e) => {
    const n = byEl.get((e.target as Element).closest('.frame') as Element);
    if (n) showDetails(n);
  });
  graph.addEventListener('mouseleave', () => showDetails(document.activeElement === graph ? focused : null));
  graph.addEventListener('focus', () => focus(drawn.has(focused) ? focused : chain[chain.length - 1]));
  graph.addEventListener('keydown', (e) => {
    const parent = drawn.get(focused)?.parent ?? null;
    const siblings = () => (parent ? parent.children.filter((c) => drawn.has(c)) : [focused]);
    let next: FlameNode | undefined;
    switch (e.key) {
      case 'ArrowUp':
        next = focused.children.find((c) => drawn.has(c));
        break;
      case 'ArrowDown':
        next = parent ?? undefined;
        break;
      case 'ArrowLeft':
      case 'ArrowRight': {
        const sib = siblings();
        next = sib[sib.indexOf(focused) + (e.key === 'ArrowLeft' ? -1 : 1)];
        break;
      }
      case 'Enter':
      case ' ':
        zoomInto(focused);
        break;
      case 'Escape':
        api.reset();
        break;
      case '/':
        input.focus();
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next) focus(next);
  });
  input.addEventListener('input', () => search(input.value));
  resetBtn.addEventListener('click', () => api.reset());

  new ResizeObserver((entries) => {
    const w = entries[entries.length - 1].contentRect.width;
    if (Math.abs(w - width) >= 0.5) {
      width = w;
      layout();
    }
  }).observe(graph);

  layout();
  updateStatus();

  const api: FlameGraph = {
    element,
    zoom(path) {
      const next = [root];
      for (const name of path) {
        const c = next[next.length - 1].children.find((k) => k.name === name);
        if (!c) break;
        next.push(c);
      }
      zoomTo(next);
    },
    search,
    reset: () => zoomTo([root]),
  };
  return api;
}
