import type { HistBucket, TypedMap } from '../output-decoder.js';

/** Renders typed bpftrace values as bpftrace's text mode prints them. */
export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(formatValue).join(', ')})`;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function keyLabel(key: string): string {
  // bpftrace joins multi-part keys with "," in JSON and ", " in text.
  return key.startsWith('\n') || !key.includes(',') ? key : key.split(',').join(', ');
}

/** Renders one typed map as bpftrace's text output would show it. */
export function renderMap(map: TypedMap): string[] {
  const { name, value } = map;
  const isKeyed = (v: unknown) =>
    map.type === 'hist' ? v !== null && typeof v === 'object' && !Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v) && !isStats(v);
  if (map.type === 'hist') {
    if (!isKeyed(value)) return [`${name}:`, ...renderHist(value as HistBucket[]), ''];
    return Object.entries(value as Record<string, HistBucket[]>).flatMap(([k, b]) => [`${name}[${keyLabel(k)}]:`, ...renderHist(b), '']);
  }
  if (!isKeyed(value)) return `${name}: ${formatScalar(value)}`.split('\n');
  // The hot path when a large map is printed at exit (10k keys took ~10 ms with flatMap and a
  // split per entry): one loop, and a split only for the rare multi-line (stack) entries.
  const out: string[] = [];
  const entries = value as Record<string, unknown>;
  for (const k in entries) {
    const v = entries[k];
    const line = `${name}[${keyLabel(k)}]: ${typeof v === 'number' ? v : formatScalar(v)}`;
    if (line.includes('\n')) out.push(...line.split('\n'));
    else out.push(line);
  }
  return out;
}

function isStats(v: unknown): v is { count: number; average: number; total: number } {
  return v !== null && typeof v === 'object' && 'count' in v && 'average' in v && 'total' in v;
}

function formatScalar(v: unknown): string {
  if (isStats(v)) return `count ${v.count}, average ${v.average}, total ${v.total}`;
  return formatValue(v);
}

const BAR_WIDTH = 52;

export function renderHist(buckets: HistBucket[]): string[] {
  const maxCount = Math.max(1, ...buckets.map((b) => b.count));
  return buckets.map((b) => {
    const bar = '@'.repeat(Math.round((b.count * BAR_WIDTH) / maxCount));
    return `${bucketLabel(b).padEnd(16)} ${String(b.count).padStart(7)} |${bar.padEnd(BAR_WIDTH)}|`;
  });
}

function bucketLabel(b: HistBucket): string {
  if (b.min === undefined) return `(..., ${sizeLabel(b.max! + 1)})`;
  if (b.max === undefined) return `[${sizeLabel(b.min)}, ...)`;
  if (b.min === b.max) return `[${sizeLabel(b.min)}]`;
  return `[${sizeLabel(b.min)}, ${sizeLabel(b.max + 1)})`;
}

function sizeLabel(n: number): string {
  for (const [suffix, size] of [
    ['P', 2 ** 50],
    ['T', 2 ** 40],
    ['G', 2 ** 30],
    ['M', 2 ** 20],
    ['K', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${suffix}`;
  }
  return String(n);
}
