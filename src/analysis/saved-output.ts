import { BpftraceJsonDecoder } from '../runtime/bpftrace/json-decoder.js';
import { featuresOf, OLDEST_SUPPORTED, parseVersion } from '../runtime/bpftrace/version.js';
import { Execution } from '../runtime/execution.js';
import type { MapEventType, TypedMap } from '../runtime/output-decoder.js';
import {
  ATTACHING,
  isRecord,
  sourceFromExecution,
  type AnalysisSource,
  type BucketHistogram,
  type MapPrintAt,
  type TableColumn,
  type TableRow,
} from './model.js';

/** Enough room for any saved output: a file is analysed whole. */
const NO_CAP = { max_lines: Number.MAX_SAFE_INTEGER, max_bytes: Number.MAX_SAFE_INTEGER };

/**
 * bpftrace's version, read from the file's own shape: 0.24 and later give attached_probes a
 * top-level count, 0.23 alone escapes map keys twice (a stack key holds a literal `\\n`).
 */
function guessVersion(text: string) {
  if (/"type": ?"attached_probes", ?"count"/.test(text)) return parseVersion('0.24.0')!;
  if (text.includes('\\\\n')) return parseVersion('0.23.0')!;
  return OLDEST_SUPPORTED;
}

/** A raw `bpftrace -f json` output file, decoded exactly as a live run's output is. */
export function sourceFromBpftraceJson(id: string, text: string): AnalysisSource {
  const decoder = new BpftraceJsonDecoder(featuresOf(guessVersion(text)));
  const e = new Execution(id, 'bpftrace', NO_CAP, id);
  for (const line of text.split('\n')) for (const ev of decoder.stdout(line)) e.apply(ev);
  for (const ev of decoder.end()) e.apply(ev);
  return { ...sourceFromExecution(e), program: undefined, duration: undefined };
}

/**
 * What `mcptrace <tool> --json` writes: the execution_result. Maps are there when it was saved
 * with --include-maps; without them the lines are all there is.
 */
export function sourceFromSavedResult(id: string, r: Record<string, unknown>): AnalysisSource {
  const maps = isRecord(r.maps)
    ? Object.entries(r.maps).flatMap(([name, m]) => (isRecord(m) && typeof m.type === 'string' ? [{ name, type: m.type as MapEventType, value: m.value }] : []))
    : [];
  const output = Array.isArray(r.output) ? r.output.map(String) : [];
  const { prints, text } = printsFromText(output);
  return {
    id: typeof r.execution_id === 'string' ? r.execution_id : id,
    tool: typeof r.tool === 'string' ? r.tool : undefined,
    duration: typeof r.duration === 'number' ? r.duration : undefined,
    maps,
    prints,
    // Without the typed maps, the last print of each map stands in for them.
    ...(maps.length ? {} : { maps: lastPrints(prints) }),
    text,
    columns: Array.isArray(r.columns) ? (r.columns as TableColumn[]) : undefined,
    rows: Array.isArray(r.rows) ? (r.rows as TableRow[]) : undefined,
    histograms: Array.isArray(r.histograms) ? (r.histograms as BucketHistogram[]) : undefined,
    lostEvents: typeof r.lost_events === 'number' ? r.lost_events : undefined,
  };
}

const NOT_PRINTF = /^(@\w*(\[.*\])?:|[[(].*\|.*\|$)/;
const MAP_LINE = /^(@\w*)(?:\[(.*)\])?: (-?\d+)$/;

/**
 * The prints of count/sum maps in saved text lines (`@name: N`, `@name[key]: N`), so a saved run
 * still has its per-interval series: consecutive lines of one map are one print, and the prints
 * after bpftrace's two blank exit lines are its exit prints. Other lines stay printf text.
 */
export function printsFromText(lines: readonly string[]): { prints: MapPrintAt[]; text: string[] } {
  const prints: MapPrintAt[] = [];
  const text: string[] = [];
  // Where the exit starts: the first two blank lines of the tail that holds only maps and blanks.
  let tail = lines.length;
  while (tail > 0 && (lines[tail - 1] === '' || MAP_LINE.test(lines[tail - 1]) || /^[[(@\]\s]/.test(lines[tail - 1]))) tail--;
  let exitAt = lines.length;
  for (let i = tail; i + 1 < lines.length; i++) {
    if (lines[i] === '' && lines[i + 1] === '') {
      exitAt = i;
      break;
    }
  }
  for (let i = 0; i < lines.length; i++) {
    const exiting = i >= exitAt;
    // A stack key spans lines from `@name[` to `]: N`; histograms and other maps print lines of
    // their own: none of them is printf output.
    if (/^@\w*\[$/.test(lines[i])) {
      while (i < lines.length && !/^\]: /.test(lines[i])) i++;
      continue;
    }
    const m = MAP_LINE.exec(lines[i]);
    if (!m) {
      if (!NOT_PRINTF.test(lines[i]) && !ATTACHING.test(lines[i]) && !(exiting && lines[i] === '')) text.push(lines[i]);
      continue;
    }
    const [, name, key, value] = m;
    const last = prints[prints.length - 1];
    // The next line of a keyed print: same map, right after the print's last line, a key it has
    // not printed yet (a print lists each key once; a repeated key starts the next print).
    if (
      last?.map.keys &&
      key !== undefined &&
      last.map.name === name &&
      last.line + last.map.keys.length === i &&
      !Object.hasOwn(last.map.value as Record<string, number>, key)
    ) {
      (last.map.value as Record<string, number>)[key] = Number(value);
      last.map.keys.push(key);
    } else {
      const value1 = key === undefined ? { value: Number(value) } : { value: { [key]: Number(value) }, keys: [key] };
      prints.push({ line: i, map: { type: 'map', name, ...value1 }, ...(exiting ? { atExit: true } : {}) });
    }
  }
  return { prints, text };
}

function lastPrints(prints: readonly MapPrintAt[]): TypedMap[] {
  const by = new Map<string, TypedMap>();
  for (const p of prints) by.set(p.map.name, p.map);
  return [...by.values()];
}

export class SavedOutputError extends Error {}

/** A saved file of either kind, told apart by its first character: one JSON object, or JSON lines. */
export function sourceFromSavedText(id: string, text: string): AnalysisSource {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && !/^\{[^\n]*"type":/.test(trimmed)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new SavedOutputError(
        `${id} is not valid JSON (${(e as Error).message}): save a run with \`mcptrace exec --json --include-maps … > FILE\`, or bpftrace's own \`bpftrace -f json … > FILE\``,
      );
    }
    if (isRecord(parsed) && Array.isArray(parsed.output)) return sourceFromSavedResult(id, parsed);
    throw new SavedOutputError(`${id} is JSON but not a saved run (no "output" field): save one with \`mcptrace exec --json --include-maps … > FILE\``);
  }
  if (trimmed.startsWith('{')) return sourceFromBpftraceJson(id, text);
  throw new SavedOutputError(
    `${id} holds neither a saved run (\`mcptrace exec --json --include-maps\`) nor bpftrace JSON lines (\`bpftrace -f json\`): analysis reads typed output, not text`,
  );
}
