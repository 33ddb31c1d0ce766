import { renderMap } from '../runtime/bpftrace/map-render.js';
import type { MapPrint } from '../runtime/execution.js';
import type { TypedMap } from '../runtime/output-decoder.js';

/**
 * A printed map as a terminal table: keys in one column, values right-aligned in the next.
 * Histograms keep bpftrace's own layout, which already has aligned counts and bars.
 */
export function renderMapTable(map: TypedMap): string[] {
  const lines = renderMap(map);
  if (map.type === 'hist') return lines;
  const rows = lines.map((l) => {
    const at = l.lastIndexOf(']: ');
    const cut = at >= 0 ? at + 1 : l.indexOf(': ');
    return cut > 0 ? { key: l.slice(0, cut), value: l.slice(cut + 2) } : { key: l, value: '' };
  });
  if (rows.length < 2 || rows.some((r) => r.key.includes('\n'))) return lines;
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  const numeric = rows.every((r) => /^-?\d+(\.\d+)?$/.test(r.value));
  const valueWidth = Math.max(...rows.map((r) => r.value.length));
  return rows.map((r) => `${r.key.padEnd(keyWidth)}  ${numeric ? r.value.padStart(valueWidth) : r.value}`);
}

/** Streams lines, replacing each complete map print with its table. */
export function terminalLines(lines: readonly string[], from: number, maps: ReadonlyMap<number, MapPrint>): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const print = maps.get(from + i);
    if (print && i + print.count <= lines.length) {
      out.push(...renderMapTable(print.map));
      i += print.count - 1;
    } else {
      out.push(lines[i]);
    }
  }
  return out;
}
