import { round, sharePercent } from './histogram.js';
import type { TableColumn, TableRow } from './model.js';

export type ColumnRole = 'pid' | 'comm' | 'path' | 'number' | 'text' | 'time';

export interface ColumnAnalysis {
  name: string;
  type: TableColumn['type'];
  role: ColumnRole;
  /** Categorical columns: the most frequent values, with their share of the rows. */
  top?: { value: string; count: number; share_percent: number }[];
  distinct?: number;
  /** Numeric columns: exact figures over every row. */
  numeric?: { count: number; min: number; max: number; mean: number; p50: number; p90: number; p99: number };
}

export interface EventsAnalysis {
  rows: number;
  /** Lines that did not fit the columns (a header, a banner, a line of another shape). */
  unparsed: number;
  header: boolean;
  columns: ColumnAnalysis[];
  rows_per_second?: number;
}

const INT = /^-?\d+$/;
const FLOAT = /^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/;
const CHUNK = 20_000;
/** Lets other runs' output and MCP calls through between chunks of a long stream. */
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

function roleByName(name: string): ColumnRole | undefined {
  const n = name.toLowerCase();
  if (/^(pid|tid|ppid|tgid)$/.test(n)) return 'pid';
  if (/^(comm|task|process|command)$/.test(n)) return 'comm';
  if (/(path|file|fname|filename|name)$/.test(n)) return 'path';
  if (/^(time|timestamp|ts)(\(.*\))?$/.test(n)) return 'time';
  return undefined;
}

/**
 * Finds the columns of a printf stream: lines split on blanks, the most common field count
 * is the row shape, extra fields are joined into the last column (paths may hold spaces), a
 * first line of words is a header. Strings are typed by what they hold: `/…` paths, short
 * words comms; integers of few distinct values that look like ids are pids.
 */
export async function tableFromText(lines: readonly string[]): Promise<{ columns: TableColumn[]; rows: TableRow[]; unparsed: number; header: boolean }> {
  const split: string[][] = [];
  const counts = new Map<number, number>();
  for (let i = 0; i < lines.length; i++) {
    if (i % CHUNK === CHUNK - 1) await yieldToLoop();
    const t = lines[i].trim();
    if (!t) continue;
    const f = t.split(/\s+/);
    split.push(f);
    counts.set(f.length, (counts.get(f.length) ?? 0) + 1);
  }
  if (!split.length) return { columns: [], rows: [], unparsed: 0, header: false };
  const width = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const header = split.length > 1 && split[0].length === width && split[0].every((x) => !FLOAT.test(x)) && split[0].every((x) => x === x.toUpperCase());
  const names = header ? split[0] : Array.from({ length: width }, (_, i) => `col${i + 1}`);
  const fields: string[][] = [];
  let unparsed = 0;
  for (let i = header ? 1 : 0; i < split.length; i++) {
    const f = split[i];
    // A trailing %s that printed nothing (an empty path) leaves one field short.
    if (f.length === width - 1 && width > 1) fields.push([...f, '']);
    else if (f.length < width) unparsed++;
    else fields.push(f.length === width ? f : [...f.slice(0, width - 1), f.slice(width - 1).join(' ')]);
  }
  const columns: TableColumn[] = names.map((name, c) => {
    let ints = true;
    let floats = true;
    for (const f of fields) {
      if (ints && !INT.test(f[c])) ints = false;
      if (floats && !FLOAT.test(f[c])) floats = false;
      if (!floats) break;
    }
    return { name, type: fields.length && ints ? 'int' : fields.length && floats ? 'float' : 'string' };
  });
  const rows = fields.map((f) => {
    const r: TableRow = {};
    columns.forEach((c, i) => (r[c.name] = c.type === 'string' ? f[i] : Number(f[i])));
    return r;
  });
  return { columns, rows, unparsed, header };
}

function guessRole(c: TableColumn, values: readonly (string | number | null)[]): ColumnRole {
  const byName = roleByName(c.name);
  if (byName && !c.name.startsWith('col')) return byName;
  if (c.type === 'time') return 'time';
  const present = values.filter((v) => v !== null);
  if (c.type === 'string') {
    const paths = present.filter((v) => String(v).startsWith('/')).length;
    if (paths >= present.length / 2) return 'path';
    return present.every((v) => String(v).length <= 16) ? 'comm' : 'text';
  }
  if (c.type === 'int') {
    const distinct = new Set(present).size;
    const idLike = present.every((v) => Number(v) > 0 && Number(v) <= 4_194_304);
    if (idLike && present.length >= 10 && distinct <= present.length / 3) return 'pid';
  }
  return 'number';
}

function exactPercentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export async function analyzeTable(columns: readonly TableColumn[], rows: readonly TableRow[], top: number): Promise<ColumnAnalysis[]> {
  const out: ColumnAnalysis[] = [];
  for (const c of columns) {
    const values = rows.map((r) => r[c.name] ?? null);
    const role = guessRole(c, values);
    const a: ColumnAnalysis = { name: c.name, type: c.type, role };
    if (role === 'number') {
      const nums = Float64Array.from(values.filter((v) => v !== null && Number.isFinite(Number(v))).map(Number)).sort();
      if (nums.length) {
        let sum = 0;
        for (const v of nums) sum += v;
        a.numeric = {
          count: nums.length,
          min: nums[0],
          max: nums[nums.length - 1],
          mean: round(sum / nums.length),
          p50: exactPercentile(nums, 0.5),
          p90: exactPercentile(nums, 0.9),
          p99: exactPercentile(nums, 0.99),
        };
      }
    } else if (role !== 'time') {
      const freq = new Map<string, number>();
      for (const v of values) if (v !== null) freq.set(String(v), (freq.get(String(v)) ?? 0) + 1);
      a.distinct = freq.size;
      a.top = [...freq]
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
        .slice(0, top)
        .map(([value, count]) => ({ value, count, share_percent: sharePercent(count, rows.length) }));
    }
    out.push(a);
    await yieldToLoop();
  }
  return out;
}
