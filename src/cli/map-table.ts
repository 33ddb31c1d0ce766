import { renderMap } from '../runtime/bpftrace/map-render.js';
import type { MapPrint } from '../runtime/execution.js';
import type { TypedMap } from '../runtime/output-decoder.js';

/**
 * A printed map as a terminal table: keys in one column, values right-aligned in the next.
 * Histograms keep bpftrace's own layout, which already has aligned counts and bars. `printed`
 * are the lines the run printed for it (exact for its bpftrace version); without them the map
 * is rendered again.
 */
export function renderMapTable(map: TypedMap, printed?: readonly string[]): string[] {
  const lines = printed ? [...printed] : renderMap(map);
  if (map.type === 'hist') return lines;
  // Blank lines after the entries (avg and stats maps up to bpftrace 0.23) stay as they are.
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  const blanks = lines.slice(end);
  const rows = lines.slice(0, end).map((l) => {
    const at = l.lastIndexOf(']: ');
    const cut = at >= 0 ? at + 1 : l.indexOf(': ');
    return cut > 0 ? { key: l.slice(0, cut), value: l.slice(cut + 2) } : { key: l, value: '' };
  });
  // Stack keys span lines, and a printf without a newline runs into the first line.
  if (rows.length < 2 || rows.some((r) => !r.key.startsWith(map.name))) return lines;
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  const numeric = rows.every((r) => /^-?\d+(\.\d+)?$/.test(r.value));
  const valueWidth = Math.max(...rows.map((r) => r.value.length));
  return [...rows.map((r) => `${r.key.padEnd(keyWidth)}  ${numeric ? r.value.padStart(valueWidth) : r.value}`), ...blanks];
}

/** Streams lines, replacing each complete map print with its table. */
export function terminalLines(lines: readonly string[], from: number, maps: ReadonlyMap<number, MapPrint>): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const print = maps.get(from + i);
    if (print && i + print.count <= lines.length) {
      out.push(...renderMapTable(print.map, lines.slice(i, i + print.count)));
      i += print.count - 1;
    } else {
      out.push(lines[i]);
    }
  }
  return out;
}
