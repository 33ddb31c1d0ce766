/** One frame of a flame graph: `value` counts its samples with its callees', `self` those that ended in it. */
export interface FlameNode {
  name: string;
  value: number;
  self: number;
  children: FlameNode[];
  /** Differential only: the baseline run's value at the same path (0 where the path is new). */
  base?: number;
}

export interface TreeStats {
  /** Nodes in the subtree, itself included. */
  nodes: number;
  /** Levels below the node (0 for a leaf). */
  depth: number;
}

// Trees of 100k+ nodes are slow to walk (each node a cache miss), so the builders record these as they go.
const stats = new WeakMap<FlameNode, TreeStats>();

/** Size and depth of a subtree: known for the roots parseFolded and diffTree return, else walked once and cached. */
export function treeStats(n: FlameNode): TreeStats {
  let st = stats.get(n);
  if (!st) {
    const s = { nodes: 0, depth: 0 };
    const walk = (x: FlameNode, d: number) => {
      s.nodes++;
      if (d > s.depth) s.depth = d;
      for (const c of x.children) walk(c, d + 1);
    };
    walk(n, 0);
    stats.set(n, (st = s));
  }
  return st;
}

const byName = (a: FlameNode, b: FlameNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Folded stacks ("root;a;b COUNT", as stackcollapse and bpftrace's collapsed maps write them) into
 * a tree under a root named 'all'. The count is the last space-separated token, so frames may hold
 * spaces (C++ signatures); a line without a count, or with nothing before it, is skipped.
 * Children are sorted by name, as FlameGraph does, so equal prefixes merge and runs compare.
 */
export function parseFolded(text: string): FlameNode {
  const root: FlameNode = { name: 'all', value: 0, self: 0, children: [] };
  let nodes = 1;
  let depth = 0;
  // Nodes with many children get a name index (and are sorted at the end); the rest are searched
  // in place and kept sorted as they grow.
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  const path: FlameNode[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const count = Number(line.slice(cut + 1));
    let end = cut;
    while (end > 0 && line.charCodeAt(end - 1) <= 32) end--;
    if (end === 0 || !Number.isFinite(count) || count < 0) continue;
    let node = root;
    path.length = 0;
    for (let pos = 0; pos <= end;) {
      let semi = line.indexOf(';', pos);
      if (semi < 0 || semi > end) semi = end;
      const len = semi - pos;
      const kids = node.children;
      let next: FlameNode | undefined;
      let byKey = index.get(node);
      if (!byKey) {
        // Compared in place, so a frame that exists costs no substring.
        for (const c of kids) {
          if (c.name.length === len && line.startsWith(c.name, pos)) {
            next = c;
            break;
          }
        }
      } else next = byKey.get(line.slice(pos, semi));
      if (!next) {
        next = { name: line.slice(pos, semi), value: 0, self: 0, children: [] };
        nodes++;
        if (byKey) {
          byKey.set(next.name, next);
          kids.push(next);
        } else if (kids.length >= 32) {
          index.set(node, (byKey = new Map(kids.map((c) => [c.name, c]))));
          byKey.set(next.name, next);
          kids.push(next);
        } else {
          let i = kids.length;
          while (i > 0 && kids[i - 1].name > next.name) i--;
          kids.splice(i, 0, next);
        }
      }
      path.push(next);
      node = next;
      pos = semi + 1;
    }
    root.value += count;
    for (const n of path) n.value += count;
    node.self += count;
    if (path.length > depth) depth = path.length;
  }
  for (const n of index.keys()) n.children.sort(byName);
  stats.set(root, { nodes, depth });
  return root;
}

/** A copy of `after` (its widths) in which every node carries `base`: `before`'s value at the same path, 0 if absent. */
export function diffTree(after: FlameNode, before: FlameNode): FlameNode {
  let nodes = 0;
  let depth = 0;
  const copy = (a: FlameNode, b: FlameNode | undefined, d: number): FlameNode => {
    nodes++;
    if (d > depth) depth = d;
    let find: (name: string) => FlameNode | undefined = () => undefined;
    if (b && b.children.length > 8) {
      const index = new Map(b.children.map((c) => [c.name, c]));
      find = (name) => index.get(name);
    } else if (b) find = (name) => b.children.find((c) => c.name === name);
    return { name: a.name, value: a.value, self: a.self, base: b?.value ?? 0, children: a.children.map((c) => copy(c, find(c.name), d + 1)) };
  };
  const root = copy(after, before, 0);
  stats.set(root, { nodes, depth });
  return root;
}
