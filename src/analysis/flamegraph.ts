import { Budget } from './budget.js';
import { fitText, FONT, hashName, xmlEscape } from './svg.js';

interface Node {
  name: string;
  samples: number;
  /** Samples of the same path in the "before" profile (differential only). */
  before: number;
  children: Map<string, Node>;
}

export interface FlameGraphOptions {
  title?: string;
  /** The "before" profile: frames are coloured by how their share changed (red grew, blue shrank). */
  before?: ReadonlyMap<string, number>;
  width?: number;
  /** Frames narrower than this many pixels are left out, as flamegraph.pl's --minwidth does. */
  minWidthPx?: number;
}

export interface FlameGraph {
  svg: string;
  /** Frame boxes drawn (the root "all" excluded). */
  frames: number;
  samples: number;
}

const FRAME_H = 16;
const TOP = 56;
const BOTTOM = 28;
const SIDE = 10;

async function tree(stacks: ReadonlyMap<string, number>, before: ReadonlyMap<string, number> | undefined, budget: Budget): Promise<Node> {
  const root: Node = { name: 'all', samples: 0, before: 0, children: new Map() };
  const add = (stack: string, n: number, field: 'samples' | 'before') => {
    let node = root;
    node[field] += n;
    for (const frame of stack.split(';')) {
      let child = node.children.get(frame);
      if (!child) {
        child = { name: frame, samples: 0, before: 0, children: new Map() };
        node.children.set(frame, child);
      }
      child[field] += n;
      node = child;
    }
  };
  for (const [s, n] of stacks) {
    if (budget.due()) await budget.pause();
    add(s, n, 'samples');
  }
  for (const [s, n] of before ?? []) {
    if (budget.due()) await budget.pause();
    add(s, n, 'before');
  }
  return root;
}

/** flamegraph.pl's "hot" palette: warm colours varied by name, so neighbours stand apart. */
function hotColour(name: string): string {
  const v = hashName(name);
  const w = hashName(name, 0x01234567);
  return `rgb(${205 + Math.round(50 * w)},${Math.round(230 * v)},${Math.round(55 * w)})`;
}

/** Red where a frame's share grew, blue where it shrank, white where it held. */
function diffColour(delta: number, maxAbs: number): string {
  const t = maxAbs > 0 ? Math.min(1, Math.abs(delta) / maxAbs) : 0;
  const fade = Math.round(255 * (1 - t));
  return delta > 0 ? `rgb(255,${fade},${fade})` : delta < 0 ? `rgb(${fade},${fade},255)` : 'rgb(250,250,250)';
}

/**
 * An SVG flame graph, rendered here without any outside tool: root at the bottom, one box per
 * frame as wide as its samples, children sorted by name (as flamegraph.pl does, so the picture
 * does not depend on sample order). Opened in a browser it is interactive, like flamegraph.pl's:
 * click a frame to zoom into it, "Reset Zoom" to go back, "Search" (or Ctrl-F) highlights the
 * frames matching a regular expression and shows their share of all samples.
 */
export async function renderFlameGraph(stacks: ReadonlyMap<string, number>, opts: FlameGraphOptions = {}, budget = new Budget()): Promise<FlameGraph> {
  const width = opts.width ?? 1200;
  const minWidth = opts.minWidthPx ?? 0.1;
  const root = await tree(stacks, opts.before, budget);
  const total = root.samples;
  const scale = total > 0 ? (width - 2 * SIDE) / total : 0;
  // Differential: "before" counts are scaled to the same total, so a longer run is no change.
  const norm = opts.before && root.before > 0 ? total / root.before : 1;
  const boxes: { node: Node; x: number; depth: number }[] = [];
  let maxDepth = 0;
  let maxAbs = 0;
  const walk = async (node: Node, x: number, depth: number): Promise<void> => {
    if (budget.due()) await budget.pause();
    let cx = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (child.samples * scale >= minWidth) {
        boxes.push({ node: child, x: cx, depth });
        maxDepth = Math.max(maxDepth, depth);
        maxAbs = Math.max(maxAbs, Math.abs(child.samples - child.before * norm));
        await walk(child, cx, depth + 1);
      }
      cx += child.samples;
    }
  };
  await walk(root, 0, 1);
  const height = TOP + (maxDepth + 1) * FRAME_H + BOTTOM;
  const yOf = (depth: number) => height - BOTTOM - (depth + 1) * FRAME_H;
  // Unchanged frames of a differential graph are near-white: a thin outline keeps them visible.
  const outline = opts.before ? ' stroke="#c8c8c8" stroke-width="0.5"' : '';
  const frame = (name: string, samples: number, x: number, depth: number, fill: string, extra: string) => {
    const w = samples * scale;
    const pct = total > 0 ? ((100 * samples) / total).toFixed(2) : '0';
    return (
      `<g class="f" data-x="${x}" data-w="${samples}" data-d="${depth}"><title>${xmlEscape(name)} (${samples} samples, ${pct}%${extra})</title>` +
      `<rect x="${(SIDE + x * scale).toFixed(1)}" y="${yOf(depth)}" width="${w.toFixed(1)}" height="${FRAME_H - 1}" rx="2" fill="${fill}"${outline}/>` +
      `<text x="${(SIDE + x * scale + 3).toFixed(1)}" y="${yOf(depth) + 11.5}">${xmlEscape(fitText(name, w))}</text></g>`
    );
  };
  const body: string[] = [];
  for (const { node, x, depth } of boxes) {
    if (budget.due()) await budget.pause();
    if (!opts.before) {
      body.push(frame(node.name, node.samples, x, depth, hotColour(node.name), ''));
      continue;
    }
    const delta = node.samples - node.before * norm;
    const sign = delta >= 0 ? '+' : '';
    body.push(frame(node.name, node.samples, x, depth, diffColour(delta, maxAbs), `; ${sign}${((100 * delta) / Math.max(total, 1)).toFixed(2)}% vs before`));
  }
  const title = opts.title ?? (opts.before ? 'Differential flame graph' : 'Flame graph');
  const svg = [
    `<?xml version="1.0" standalone="no"?>`,
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-total="${total}" data-side="${SIDE}">`,
    `<style>text{font-family:${FONT};font-size:12px;fill:#000}.f:hover rect{stroke:#000;stroke-width:0.5;cursor:pointer}.hide{display:none}.parent rect{opacity:0.5}#title{font-size:17px;text-anchor:middle}.ctl{cursor:pointer;fill:#333}</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f0"/>`,
    `<text id="title" x="${width / 2}" y="24">${xmlEscape(title)}</text>`,
    `<text id="reset" class="ctl hide" x="${SIDE}" y="24">Reset Zoom</text>`,
    `<text id="search" class="ctl" x="${width - SIDE - 60}" y="24">Search</text>`,
    `<text id="matched" x="${width - SIDE - 200}" y="${height - 8}"></text>`,
    `<text id="details" x="${SIDE}" y="${height - 8}"> </text>`,
    frame('all', total, 0, 0, opts.before ? 'rgb(250,250,250)' : 'rgb(230,230,230)', ''),
    ...body,
    `<script type="text/ecmascript"><![CDATA[${SCRIPT}]]></script>`,
    `</svg>`,
  ].join('\n');
  return { svg, frames: boxes.length, samples: total };
}

/**
 * The browser side: zoom recomputes every box from its data-x/data-w (samples), search marks
 * matches and sums the samples of the outermost ones. Plain DOM, no libraries.
 */
const SCRIPT = `
(function () {
  var svg = document.documentElement, total = +svg.getAttribute('data-total'), side = +svg.getAttribute('data-side');
  var W = +svg.getAttribute('width') - 2 * side, frames = [].slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details'), matched = document.getElementById('matched'), reset = document.getElementById('reset');
  function fit(g, w) {
    var t = g.querySelector('text'), name = g.querySelector('title').textContent.replace(/ \\([^()]*\\)$/, '');
    var n = Math.floor((w - 6) / 7);
    t.textContent = n < 3 ? '' : name.length <= n ? name : name.slice(0, n - 2) + '..';
  }
  function place(g, x0, w0) {
    var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'), r = g.querySelector('rect'), t = g.querySelector('text');
    var px = side + ((x - x0) / w0) * W, pw = (w / w0) * W;
    r.setAttribute('x', px.toFixed(1)); r.setAttribute('width', pw.toFixed(1)); t.setAttribute('x', (px + 3).toFixed(1)); fit(g, pw);
  }
  function zoom(z) {
    var x0 = +z.getAttribute('data-x'), w0 = +z.getAttribute('data-w'), d0 = +z.getAttribute('data-d');
    frames.forEach(function (g) {
      var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'), d = +g.getAttribute('data-d');
      g.classList.remove('hide', 'parent');
      if (d < d0 && x <= x0 && x + w >= x0 + w0) { g.classList.add('parent'); place(g, x0, w0); var r = g.querySelector('rect'); r.setAttribute('x', side); r.setAttribute('width', W); fit(g, W); }
      else if (d >= d0 && x >= x0 && x + w <= x0 + w0) place(g, x0, w0);
      else g.classList.add('hide');
    });
    reset.classList.toggle('hide', w0 === total);
  }
  function search(re) {
    var spans = [];
    frames.forEach(function (g) {
      var r = g.querySelector('rect'), name = g.querySelector('title').textContent.replace(/ \\([^()]*\\)$/, '');
      if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
      var hit = re !== null && re.test(name);
      r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
      if (hit) spans.push([+g.getAttribute('data-x'), +g.getAttribute('data-w')]);
    });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) { if (s[0] >= end) { sum += s[1]; end = s[0] + s[1]; } });
    matched.textContent = re === null ? '' : 'Matched: ' + (total ? (100 * sum / total).toFixed(1) : 0) + '%';
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', function () { zoom(frames[0]); });
  function ask() {
    var term = prompt('Search frames (regular expression); empty to clear', '');
    if (term === null) return;
    try { search(term ? new RegExp(term) : null); } catch (e) { matched.textContent = 'bad expression: ' + e.message; }
  }
  document.getElementById('search').addEventListener('click', ask);
  window.addEventListener('keydown', function (e) { if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); ask(); } });
})();
`;
