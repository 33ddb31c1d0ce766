import type { HistBucket, TypedMap } from '../output-decoder.js';
import type { MapTypes, ValueType } from './value-types.js';
import { featuresOf, OLDEST_SUPPORTED, type BpftraceFeatures } from './version.js';

/** The features that change how a map prints in text mode. */
export type MapTextStyle = Pick<BpftraceFeatures, 'histHeader' | 'statsText' | 'statsTrailingBlank' | 'singleValueBuckets' | 'jsonKeySpacesErased'>;

const OLDEST_STYLE: MapTextStyle = featuresOf(OLDEST_SUPPORTED);

/** Enum names by enum and value (see ProgramTypes). */
export type EnumNames = ReadonlyMap<string, ReadonlyMap<bigint, string>>;

const NO_ENUMS: EnumNames = new Map();

/**
 * Renders a typed bpftrace value as text mode prints it (tuples as `(1, a)`). Given its type,
 * also what JSON writes alike: a buffer, a pointer, an enum, an array (all numbers there).
 */
export function formatValue(v: unknown, style: MapTextStyle = OLDEST_STYLE, type?: ValueType, enums: EnumNames = NO_ENUMS): string {
  if (type && type.kind !== 'plain') {
    const typed = formatTyped(v, type, style, enums);
    if (typed !== undefined) return typed;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `(${v.map((x) => formatValue(x, style)).join(', ')})`;
  if (v === undefined) return '';
  // Since 0.24 JSON writes null for a value it cannot represent.
  if (v === null) return 'null';
  if (isStats(v) && style.statsText === 'words') return `count ${v.count}, average ${v.average}, total ${v.total}`;
  return formatRecord(v as Record<string, unknown>, style);
}

/** The text of a value of a type that JSON does not show, or undefined if it does not fit. */
function formatTyped(v: unknown, t: ValueType, style: MapTextStyle, enums: EnumNames): string | undefined {
  switch (t.kind) {
    case 'buffer':
      // Up to 0.23 JSON writes the buffer's text already.
      return Array.isArray(v) ? formatBuffer(v as number[]) : undefined;
    case 'pointer':
      return isInteger(v) ? `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}` : undefined;
    case 'enum': {
      if (!isInteger(v)) return undefined;
      const n = BigInt.asUintN(64, BigInt(v));
      return enums.get(t.name)?.get(n) ?? n.toString();
    }
    case 'tuple':
      if (!Array.isArray(v) || v.length !== t.elements.length) return undefined;
      return `(${v.map((x, i) => formatValue(x, style, t.elements[i], enums)).join(', ')})`;
    case 'array':
      // Unlike a tuple's, an array's elements are not spaced.
      return Array.isArray(v) ? `[${v.map((x) => formatValue(x, style, t.element, enums)).join(',')}]` : undefined;
    case 'record': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      const r = v as Record<string, unknown>;
      const fields = Object.keys(r).map((k) => `.${k} = ${formatValue(r[k], style, t.fields.find((f) => f.name === k)?.type, enums)}`);
      return fields.length ? `{ ${fields.join(', ')} }` : '{}';
    }
    default:
      return undefined;
  }
}

function isInteger(v: unknown): v is number | string {
  return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v));
}

/**
 * A buffer as text mode prints it (bpftrace's hex_format_buffer): printable ASCII as it is,
 * every other byte as `\xNN`. JSON writes the bytes as signed chars.
 */
export function formatBuffer(bytes: readonly number[]): string {
  let out = '';
  for (const n of bytes) {
    const b = n & 0xff;
    out += b >= 32 && b <= 126 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A struct (and, since 0.24, a stats value): `{ .count = 1, .average = 2, .total = 2 }`. */
function formatRecord(r: Record<string, unknown>, style: MapTextStyle): string {
  const fields = Object.keys(r).map((k) => `.${k} = ${formatValue(r[k], style)}`);
  return fields.length ? `{ ${fields.join(', ')} }` : '{}';
}

function isStats(v: unknown): v is { count: unknown; average: unknown; total: unknown } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'count' in v && 'average' in v && 'total' in v && Object.keys(v).length === 3;
}

function isKeyed(map: TypedMap, types?: MapTypes): map is TypedMap & { value: Record<string, unknown> } {
  const v = map.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  // A map without keys that holds a record or a struct: JSON writes it as keyed entries would
  // be. (A cleared map is written as an empty object, and prints nothing.)
  if (types?.scalar && Object.keys(v).length > 0) return false;
  return map.type !== 'stats' || !isStats(v);
}

/** The keys of a keyed map in the order bpftrace printed them. */
export function printedKeys(map: TypedMap & { value: Record<string, unknown> }): readonly string[] {
  return map.keys ?? Object.keys(map.value);
}

/**
 * Renders one typed map as bpftrace's text output shows it, line by line; `types` (see
 * value-types.ts) tells what its JSON cannot.
 */
export function renderMap(map: TypedMap, style: MapTextStyle = OLDEST_STYLE, types?: MapTypes, enums: EnumNames = NO_ENUMS): string[] {
  if (map.type === 'hist') return renderHistMap(map, style, types?.histogram);
  if (map.type === 'tseries') return renderTseriesMap(map, style);
  const lines = renderValueMap(map, style, types, enums);
  if (map.type === 'stats' && style.statsTrailingBlank) lines.push('');
  return lines;
}

/** The lines of a keyed map whose values are integers, given as their JSON text. */
export function renderFlatMap(map: TypedMap, keys: readonly string[], valueTexts: readonly string[], style: MapTextStyle = OLDEST_STYLE): string[] {
  const labels = keyLabels(keys, style);
  const out = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = `${map.name}[${labels[i]}]: ${valueTexts[i]}`;
  if (map.type === 'stats' && style.statsTrailingBlank) out.push('');
  return out;
}

function renderValueMap(map: TypedMap, style: MapTextStyle, types: MapTypes | undefined, enums: EnumNames): string[] {
  if (!isKeyed(map, types)) return `${map.name}: ${formatValue(map.value, style, types?.value, enums)}`.split('\n');
  // One loop, and a split only for the rare multi-line (stack or string) entries: large maps
  // of integers take renderFlatMap, but large maps of tuples or strings come here.
  const out: string[] = [];
  const keys = printedKeys(map);
  const labels = types?.key ? keys.map((k) => formatValue(k, style, types.key, enums)) : keyLabels(keys, style);
  for (let i = 0; i < keys.length; i++) {
    const v = map.value[keys[i]];
    const line = `${map.name}[${labels[i]}]: ${typeof v === 'number' && !types?.value ? v : formatValue(v, style, types?.value, enums)}`;
    if (line.includes('\n')) out.push(...line.split('\n'));
    else out.push(line);
  }
  return out;
}

/** A time series (0.24+): the name alone on a line, the graph, a blank line; per key if keyed. */
function renderTseriesMap(map: TypedMap, style: MapTextStyle): string[] {
  if (Array.isArray(map.value)) return [`${map.name}:`, ...renderTseries(map.value as TseriesPoint[]), ''];
  if (!isKeyed(map)) return [`${map.name}:`, ''];
  const keys = printedKeys(map);
  const labels = keyLabels(keys, style);
  return keys.flatMap((k, i) => [`${map.name}[${labels[i]}]:`, ...renderTseries(map.value[k] as TseriesPoint[]), '']);
}

interface TseriesPoint {
  interval_start?: unknown;
  value?: unknown;
}

const GRAPH_WIDTH = 53;
const LABEL_PADDING = 21;
const NS_PER_S = 1_000_000_000n;
/** A duration's display unit, the digits of its fraction of a second, and its scale in ns. */
const UNITS = [
  { name: 's', digits: 0, scale: NS_PER_S },
  { name: 'ms', digits: 3, scale: 1_000_000n },
  { name: 'μs', digits: 6, scale: 1_000n },
  { name: 'ns', digits: 9, scale: 1n },
] as const;

/**
 * bpftrace's text graph of a time series: a column of times, each value plotted on a 53-column
 * scale from the smallest to the largest value, a `.` at zero when the scale spans it.
 */
export function renderTseries(points: readonly TseriesPoint[]): string[] {
  if (points.length === 0) return ['<no data>'];
  const values = points.map((p) => (typeof p.value === 'number' || typeof p.value === 'string' ? Number(p.value) : undefined));
  const present = values.filter((v): v is number => v !== undefined);
  let min = Math.min(...present);
  let max = Math.max(...present);
  if (min === max) {
    min--;
    max++;
  }
  const epochs = points.map((p) => epochNs(String(p.interval_start)));
  const interval = (epochs[epochs.length - 1] - epochs[0]) / BigInt(points.length > 1 ? points.length - 1 : 1);
  const unit = UNITS.find((u) => interval >= u.scale) ?? UNITS[3];
  const timeFormat = unit.digits ? `hh:mm:ss.${unit.name}` : 'hh:mm:ss';
  const timeSize = 8 + (unit.digits ? 1 + unit.digits : 0);
  const indent = ' '.repeat(timeSize + 1);
  const scale = `${indent}${String(min).padEnd(LABEL_PADDING)}${String(max).padStart(GRAPH_WIDTH - LABEL_PADDING)}`;
  const zero = min < 0 && max > 0 ? Math.trunc(Math.fround((GRAPH_WIDTH * -min) / (max - min))) : 0;
  const rows = points.map((_, i) => `${formatTime(epochs[i], unit)} ${plotRow(values[i], min, max, zero)}`);
  return [scale, `${padBytes(timeFormat, timeSize + 1)}|${'_'.repeat(GRAPH_WIDTH - 2)}|`, ...rows, `${indent}v${'_'.repeat(GRAPH_WIDTH - 2)}v`, scale];
}

function plotRow(value: number | undefined, min: number, max: number, zero: number): string {
  const line: string[] = Array.from({ length: GRAPH_WIDTH }, (_, i) => (i === 0 || i === GRAPH_WIDTH - 1 ? '|' : i === zero && zero > 0 ? '.' : ' '));
  if (value === undefined) return `${line.join('')} -`;
  const at = Math.trunc(Math.fround(((GRAPH_WIDTH - 1) * (value - min)) / (max - min)));
  line[Math.max(0, Math.min(GRAPH_WIDTH - 1, at))] = '*';
  return `${line.join('')} ${value}`;
}

/** JSON writes each interval's start as a UTC date and time with nanoseconds. */
function epochNs(text: string): bigint {
  const m = /^(\d+)-(\d+)-(\d+)[ T](\d+):(\d+):(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return 0n;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '0').padEnd(9, '0').slice(0, 9));
}

/** Local time as %H:%M:%S, and the fraction of the second in the unit's digits. */
function formatTime(ns: bigint, unit: (typeof UNITS)[number]): string {
  const secs = ns / NS_PER_S;
  const d = new Date(Number(secs) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const hms = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  if (!unit.digits) return hms;
  return `${hms}.${String((ns - secs * NS_PER_S) / unit.scale).padStart(unit.digits, '0')}`;
}

/** Pads to a width in bytes, as C++'s setw does ("μs" is three bytes). */
function padBytes(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - Buffer.byteLength(s)));
}

function renderHistMap(map: TypedMap, style: MapTextStyle, kind: 'hist' | 'lhist' | undefined): string[] {
  const header = (label: string) => `${label}${style.histHeader}`;
  if (Array.isArray(map.value)) return [header(map.name), ...renderHist(map.value as HistBucket[], style, kind), ''];
  if (!isKeyed(map)) return [header(map.name), ''];
  const keys = printedKeys(map);
  const labels = keyLabels(keys, style);
  return keys.flatMap((k, i) => [...header(`${map.name}[${labels[i]}]`).split('\n'), ...renderHist(map.value[k] as HistBucket[], style, kind), '']);
}

/**
 * bpftrace joins the parts of a multi-part key with "," in JSON and ", " in text, and a string
 * part may hold a comma itself. Every key of one map has the same parts, so the fewest commas
 * any key has tells how many parts there are, and the parts that are integers in every such
 * key tell where the extra commas of the other keys cannot be.
 */
export function keyLabels(keys: readonly string[], style: Pick<MapTextStyle, 'jsonKeySpacesErased'> = OLDEST_STYLE): readonly string[] {
  if (keys.some((k) => k.charCodeAt(0) === 10)) return keys.map((key) => stackKeyLabel(key, style.jsonKeySpacesErased));
  let separators = Infinity;
  for (const k of keys) {
    const n = countCommas(k);
    if (n < separators) separators = n;
    if (separators === 0) return keys;
  }
  if (!Number.isFinite(separators)) return keys;
  const intParts = integerParts(keys, separators);
  return keys.map((k) => splitKey(k, separators + 1, intParts).join(', '));
}

/**
 * A key that starts with a stack: its frames may hold commas (C++ symbols), so only a comma
 * right after a frame's newline, or after the last frame, separates key parts.
 */
function stackKeyLabel(key: string, spacesErased: boolean): string {
  const end = key.lastIndexOf('\n') + 1;
  const stack = spacesErased ? restoreStackSpaces(key.slice(0, end)) : key.slice(0, end);
  return stack.replace(/\n,/g, '\n, ') + key.slice(end).split(',').join(', ');
}

/**
 * Puts back what 0.24+ JSON erased from a stack: the 8-space indent of each frame (raw mode,
 * bare addresses, has none), and in perf mode the space after the address and the one before
 * "(module)".
 */
function restoreStackSpaces(stack: string): string {
  const frames = stack.split('\n');
  if (frames.every((f) => f === '' || f === ',' || /^[0-9a-f]+$/.test(f))) return stack;
  return frames.map((f) => (f === '' || f === ',' ? f : f.startsWith('\t') ? `\t${restorePerfFrame(f.slice(1))}` : `        ${f}`)).join('\n');
}

/**
 * A perf-mode frame, `<address> <symbol> (<module>)` with its spaces erased. The address is
 * the 16 digits of a kernel address, repeated after "0x" when it did not resolve, or the 12
 * digits of an x86-64 user address.
 */
function restorePerfFrame(frame: string): string {
  const hex = /^[0-9a-f]*/.exec(frame)![0];
  let digits = hex.startsWith('ffff') && hex.length >= 16 ? 16 : Math.min(hex.length, 12);
  for (let n = 1; n <= hex.length; n++) if (frame.startsWith(`0x${hex.slice(0, n)}`, n)) digits = n;
  const symbol = frame.slice(digits).replace(/(?<=\S)\((?=[^(]*\)$)/, ' (');
  return `${frame.slice(0, digits)} ${symbol}`;
}

function countCommas(s: string): number {
  let n = 0;
  for (let i = s.indexOf(','); i >= 0; i = s.indexOf(',', i + 1)) n++;
  return n;
}

const INTEGER = /^-?\d+$/;

function integerParts(keys: readonly string[], separators: number): boolean[] {
  const parts = new Array<boolean>(separators + 1).fill(true);
  for (const k of keys) {
    if (countCommas(k) !== separators) continue;
    k.split(',').forEach((p, i) => (parts[i] &&= INTEGER.test(p)));
  }
  return parts;
}

/** Splits on commas into `n` parts, giving extra commas to the first part that is no integer. */
function splitKey(key: string, n: number, intParts: boolean[]): string[] {
  const tokens = key.split(',');
  if (tokens.length === n) return tokens;
  const head: string[] = [];
  const tail: string[] = [];
  let lo = 0;
  let hi = tokens.length - 1;
  for (let i = 0; i < n && intParts[i]; i++) head.push(tokens[lo++]);
  for (let i = n - 1; i > head.length && intParts[i]; i--) tail.unshift(tokens[hi--]);
  const middle = n - head.length - tail.length;
  const rest = tokens.slice(lo, hi + 1);
  const singles = rest.splice(0, Math.max(0, middle - 1));
  return [...head, ...singles, rest.join(','), ...tail];
}

const BAR_WIDTH = 52;

/**
 * A histogram's bucket lines: label, count and a bar scaled to the largest count. `kind`, when
 * the program tells it, says whether the buckets are hist()'s or lhist()'s; else their bounds do.
 */
export function renderHist(buckets: readonly HistBucket[], style: Pick<MapTextStyle, 'singleValueBuckets'> = OLDEST_STYLE, kind?: 'hist' | 'lhist'): string[] {
  const fixed = repairOverflowedBuckets(buckets);
  let max = 0;
  for (const b of fixed) if (Number(b.count) > max) max = Number(b.count);
  const log2 = kind ? kind === 'hist' : isLog2(fixed);
  const label = style.singleValueBuckets === 'any' || log2 ? singleValueLabel : rangeLabel;
  return fixed.map((b) => `${label(b).padEnd(16)}${String(b.count).padStart(8)} |${'@'.repeat(barWidth(Number(b.count), max)).padEnd(BAR_WIDTH)}|`);
}

/**
 * Whether the buckets are hist()'s powers of two rather than lhist()'s steps (JSON types both
 * "hist"): only log2 buckets are (..., 0), [0], [1] and [2^k, 2^(k+1)), and only lhist has an
 * open upper bucket.
 */
function isLog2(buckets: readonly HistBucket[]): boolean {
  return buckets.every((b) => {
    if (b.max === undefined) return false;
    const max = BigInt(b.max);
    if (b.min === undefined) return max === -1n;
    const min = BigInt(b.min);
    if (min === max) return min === 0n || min === 1n;
    return min >= 2n && (min & (min - 1n)) === 0n && max === min * 2n - 1n;
  });
}

/** bpftrace computes the bar in single precision and truncates it. */
function barWidth(count: number, max: number): number {
  if (max === 0) return 0;
  return Math.trunc(Math.fround(Math.fround(Math.fround(count) / Math.fround(max)) * BAR_WIDTH));
}

type Bound = number | string;

/**
 * bpftrace 0.17 computes a log2 bucket's bounds in 32 bits, so past 2^31 they wrap (min
 * -2147483648); text mode shows the right powers of two, which follow from the bucket before.
 */
function repairOverflowedBuckets(buckets: readonly HistBucket[]): readonly HistBucket[] {
  let prevMax: bigint | undefined;
  let out: HistBucket[] | undefined;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    const min = toBig(b.min);
    if (prevMax !== undefined && min !== undefined && min <= prevMax) {
      out ??= buckets.slice();
      const lo = prevMax + 1n;
      out[i] = { ...b, min: fromBig(lo) as number, max: fromBig(lo * 2n - 1n) as number };
    }
    prevMax = toBig((out ?? buckets)[i].max);
  }
  return out ?? buckets;
}

function toBig(v: Bound | undefined): bigint | undefined {
  return v === undefined ? undefined : BigInt(v);
}

function fromBig(v: bigint): Bound {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** `[3]` for a bucket of one value, else as rangeLabel. */
function singleValueLabel(b: HistBucket): string {
  return b.min !== undefined && b.max !== undefined && BigInt(b.min) === BigInt(b.max) ? `[${sizeLabel(BigInt(b.min))}]` : rangeLabel(b);
}

/** `[min, max+1)`, with the open buckets `(..., x)` and `[x, ...)`. */
function rangeLabel(b: HistBucket): string {
  const min = b.min as Bound | undefined;
  const max = b.max as Bound | undefined;
  if (min === undefined) return `(..., ${sizeLabel(plusOne(max!))})`;
  if (max === undefined) return `[${sizeLabel(BigInt(min))}, ...)`;
  return `[${sizeLabel(BigInt(min))}, ${sizeLabel(plusOne(max))})`;
}

function plusOne(v: Bound): bigint {
  return BigInt(v) + 1n;
}

const SUFFIXES = ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z'];

/** 1024 → 1K, 3145728 → 3M: the largest power of 1024 that divides the number. */
function sizeLabel(n: bigint): string {
  if (n === 0n) return '0';
  let i = 0;
  while (i < SUFFIXES.length - 1 && n % 1024n === 0n) {
    n /= 1024n;
    i++;
  }
  return `${n}${SUFFIXES[i]}`;
}
