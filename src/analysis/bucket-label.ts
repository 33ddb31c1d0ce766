/**
 * Bucket labels as bpftrace prints them. No imports: the browser views (ui/) bundle this file
 * too, so the charts and the server's SVG and PNG name every bucket the same way.
 */
export const SIZE_SUFFIXES = ['', 'K', 'M', 'G', 'T', 'P'] as const;

/** A bound with its power of 1024 as a suffix when exact (4096 → 4K). */
function sizeLabel(n: number): string {
  let i = 0;
  while (n !== 0 && i < SIZE_SUFFIXES.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${SIZE_SUFFIXES[i]}`;
}

/** `[4K, 8K)`-style label of a bucket (inclusive bounds, null where open). */
export function bucketLabel(b: { low: number | null; high: number | null }): string {
  if (b.low === null) return `(..., ${sizeLabel((b.high as number) + 1)})`;
  if (b.high === null) return `[${sizeLabel(b.low)}, ...)`;
  if (b.low === b.high) return `[${sizeLabel(b.low)}]`;
  return `[${sizeLabel(b.low)}, ${sizeLabel(b.high + 1)})`;
}
