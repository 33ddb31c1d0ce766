import { Budget } from './budget.js';
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

/** Rows held column by column: a 100k-line stream is a few arrays, not 100k objects. */
export interface Table {
  columns: TableColumn[];
  values: (string | number | null)[][];
  rows: number;
}

const INT = /^-?\d+$/;
const FLOAT = /^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/;

function roleByName(name: string): ColumnRole | undefined {
  const n = name.toLowerCase();
  if (/^(pid|tid|ppid|tgid)$/.test(n)) return 'pid';
  if (/^(comm|task|process|command)$/.test(n)) return 'comm';
  if (/(path|file|fname|filename|name)$/.test(n)) return 'path';
  if (/^(time|timestamp|ts)(\(.*\))?$/.test(n)) return 'time';
  return undefined;
}

/** bcc rows (one object a row) as a table. */
export function tableFromRows(columns: readonly TableColumn[], rows: readonly TableRow[]): Table {
  return { columns: [...columns], values: columns.map((c) => rows.map((r) => r[c.name] ?? null)), rows: rows.length };
}

/**
 * Finds the columns of a printf stream: lines split on blanks, the most common field count
 * is the row shape, extra fields are joined into the last column (paths may hold spaces), a
 * first line of capitalised words is a header. Numbers are typed int or float when every row
 * holds one.
 */
export async function tableFromText(lines: readonly string[], budget = new Budget()): Promise<{ table: Table; unparsed: number; header: boolean }> {
  const split: string[][] = [];
  const counts = new Map<number, number>();
  for (const line of lines) {
    if (budget.due()) await budget.pause();
    const t = line.trim();
    if (!t) continue;
    const f = t.split(/\s+/);
    split.push(f);
    counts.set(f.length, (counts.get(f.length) ?? 0) + 1);
  }
  if (!split.length) return { table: { columns: [], values: [], rows: 0 }, unparsed: 0, header: false };
  const width = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const header = split.length > 1 && split[0].length === width && split[0].every((x) => !FLOAT.test(x) && x === x.toUpperCase());
  const names = header ? split[0] : Array.from({ length: width }, (_, i) => `col${i + 1}`);
  const raw: string[][] = names.map(() => []);
  let unparsed = 0;
  for (let i = header ? 1 : 0; i < split.length; i++) {
    if (budget.due()) await budget.pause();
    const f = split[i];
    // A trailing %s that printed nothing (an empty path) leaves one field short.
    if (f.length < width - 1 || (f.length === width - 1 && width < 2)) {
      unparsed++;
      continue;
    }
    for (let c = 0; c < width - 1; c++) raw[c].push(f[c]);
    raw[width - 1].push(f.length === width ? f[width - 1] : f.length < width ? '' : f.slice(width - 1).join(' '));
  }
  const columns: TableColumn[] = [];
  const values: (string | number | null)[][] = [];
  for (let c = 0; c < width; c++) {
    const col = raw[c];
    let type: TableColumn['type'] = col.length ? 'int' : 'string';
    for (const v of col) {
      if (budget.due()) await budget.pause();
      if (type === 'int' && INT.test(v)) continue;
      if (FLOAT.test(v)) type = 'float';
      else {
        type = 'string';
        break;
      }
    }
    columns.push({ name: names[c], type });
    values.push(type === 'string' ? col : col.map(Number));
  }
  return { table: { columns, values, rows: raw[0].length }, unparsed, header };
}

function guessRole(c: TableColumn, values: readonly (string | number | null)[], distinct: number): ColumnRole {
  const byName = roleByName(c.name);
  if (byName && !/^col\d+$/.test(c.name)) return byName;
  if (c.type === 'time') return 'time';
  if (c.type === 'string') {
    let paths = 0;
    let short = true;
    for (const v of values) {
      if (v === null) continue;
      const s = String(v);
      if (s.startsWith('/')) paths++;
      if (s.length > 16) short = false;
    }
    if (paths >= values.length / 2) return 'path';
    return short ? 'comm' : 'text';
  }
  if (c.type === 'int' && values.length >= 10 && distinct <= values.length / 3) {
    // Ids are positive and at most the kernel's pid_max.
    if (values.every((v) => v !== null && Number(v) > 0 && Number(v) <= 4_194_304)) return 'pid';
  }
  return 'number';
}

const exactPercentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];

export async function analyzeTable(table: Table, top: number, budget = new Budget()): Promise<ColumnAnalysis[]> {
  const out: ColumnAnalysis[] = [];
  for (let i = 0; i < table.columns.length; i++) {
    const c = table.columns[i];
    const values = table.values[i];
    const freq = new Map<string | number, number>();
    for (const v of values) {
      if (budget.due()) await budget.pause();
      if (v !== null) freq.set(v, (freq.get(v) ?? 0) + 1);
    }
    const role = guessRole(c, values, freq.size);
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
      a.distinct = freq.size;
      a.top = [...freq]
        .sort((x, y) => y[1] - x[1] || (String(x[0]) < String(y[0]) ? -1 : 1))
        .slice(0, top)
        .map(([value, count]) => ({ value: String(value), count, share_percent: sharePercent(count, table.rows) }));
    }
    out.push(a);
    await budget.pause();
  }
  return out;
}
