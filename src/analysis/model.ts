import type { ExecutionState } from '../runtime/execution.js';
import type { HistBucket, TypedMap } from '../runtime/output-decoder.js';

/**
 * The structured fields a bcc tool's run carries next to its lines (the bcc kind fills them):
 * printf-like rows with typed columns, and histograms in bcc's `low -> high : count` form.
 */
export interface TableColumn {
  name: string;
  type: 'int' | 'float' | 'string' | 'time';
}
export type TableRow = Record<string, string | number | null>;
export interface BucketHistogram {
  name: string;
  unit?: string;
  /** Both bounds inclusive, as bcc prints them (`0 -> 1`, `2 -> 3`). */
  buckets: { low: number; high: number; count: number }[];
}

/** One print of a map, in output order: the series an interval program prints. */
export interface MapPrintAt {
  line: number;
  map: TypedMap;
  /** Printed by bpftrace as it exits: the last, partial interval, not one of the series. */
  atExit?: boolean;
}

/**
 * Everything the analysis reads, whatever produced it: a live run, a saved `--json` result or a
 * raw `bpftrace -f json` file. Pure data, so the analysis never touches a process or a file.
 */
export interface AnalysisSource {
  id: string;
  tool?: string;
  /** The program or command line, when known: what each map aggregates and how often it prints. */
  program?: string;
  /** Seconds the run lasted, when known (turns counts into rates). */
  duration?: number;
  /** The latest value of each map. */
  maps: TypedMap[];
  /** Every print of every map, in order (empty when only the final maps are known). */
  prints: MapPrintAt[];
  /** Output lines that are not part of a map print: printf output. */
  text: string[];
  columns?: TableColumn[];
  rows?: TableRow[];
  histograms?: BucketHistogram[];
  lostEvents?: number;
  droppedLines?: number;
}

export const ATTACHING = /^Attaching \d+ probes?\.\.\.$/;

/** A run's state as an analysis source: map prints are split from the printf lines around them. */
export function sourceFromExecution(e: ExecutionState): AnalysisSource {
  const prints: MapPrintAt[] = [];
  const inPrint = new Uint8Array(e.lines.length);
  for (const [line, p] of [...e.mapPrints.entries()].sort((a, b) => a[0] - b[0])) {
    prints.push({ line, map: p.map });
    inPrint.fill(1, line, Math.min(e.lines.length, line + p.count));
  }
  const text: string[] = [];
  // A fleet run's lines carry their host's label; its events are what follows the label, and a
  // host's blank exit lines are not events.
  const unlabel = e.fleet ? (l: string) => l.replace(/^\[[^\]]*\] ?/, '') : (l: string) => l;
  for (let i = 0; i < e.lines.length; i++) {
    if (inPrint[i]) continue;
    const line = unlabel(e.lines[i]);
    // bpftrace's own "Attaching N probes..." line is not an event of the program.
    if (ATTACHING.test(line) || (e.fleet && line === '')) continue;
    text.push(e.fleet ? e.lines[i] : line);
  }
  const exitAt = exitBoundary(e.lines, inPrint);
  for (const p of prints) if (p.line > exitAt) p.atExit = true;
  const duration = e.startedAt !== undefined && e.endedAt !== undefined ? (e.endedAt - e.startedAt) / 1000 : undefined;
  return {
    id: e.id,
    tool: e.tool,
    program: e.commandLine,
    duration,
    maps: [...e.maps.values()],
    prints,
    text,
    // A bcc tool's typed table and histograms (each row keeps the index of its output line).
    columns: e.columns ? [...e.columns] : undefined,
    rows: e.rows?.map((r) => r.row),
    histograms: e.histograms ? [...e.histograms] : undefined,
    lostEvents: e.lostEvents,
    droppedLines: e.droppedLines,
  };
}

/**
 * Where bpftrace's exit starts: up to 0.23 it prints two blank lines before the maps it prints
 * as it exits, and nothing but maps and blank lines follows. Past the end when there is none.
 */
function exitBoundary(lines: readonly string[], inPrint: Uint8Array): number {
  let at = lines.length;
  for (let i = lines.length - 1; i >= 0 && (inPrint[i] || lines[i] === ''); i--) {
    if (!inPrint[i] && i > 0 && lines[i - 1] === '' && !inPrint[i - 1]) at = i - 1;
  }
  return at;
}

/** A bucket with numeric bounds: `low`/`high` inclusive, null where bpftrace leaves it open. */
export interface Bucket {
  low: number | null;
  high: number | null;
  count: number;
}

const num = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));

export const bucketsFromHist = (b: readonly HistBucket[]): Bucket[] => b.map((x) => ({ low: num(x.min), high: num(x.max), count: Number(x.count) }));

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entries of a keyed map in printed order, or one entry with key null for a scalar map. */
export function mapEntries(m: TypedMap): [string | null, unknown][] {
  const v = m.value;
  if (m.type === 'hist' && Array.isArray(v)) return [[null, v]];
  if (isRecord(v) && !(m.type === 'stats' && 'count' in v && 'average' in v && !isRecord(v.count))) {
    const keys = m.keys ?? Object.keys(v);
    return keys.map((k) => [k, v[k]]);
  }
  return [[null, v]];
}
