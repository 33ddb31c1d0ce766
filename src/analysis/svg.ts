/** Text for SVG/XML: the five characters XML reserves are escaped, control bytes dropped. */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x26 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x27) return true;
  }
  return false;
}

export function xmlEscape(s: string): string {
  // Most frame names need nothing: no copy then (a 10k-stack flame graph has ~25k of them).
  if (!needsEscape(s)) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    // XML 1.0 forbids most control characters outright, even escaped.
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) continue;
    out += ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : ch === "'" ? '&apos;' : ch;
  }
  return out;
}

/** A stable hash of a name (FNV-1a), so the same frame has the same colour in every picture. */
export function hashName(s: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0xffffffff;
}

/** Fixed-width text fitted into a box of `px` pixels (about 7 px a character at 12 px). */
export function fitText(s: string, px: number, charPx = 7): string {
  const n = Math.floor((px - 6) / charPx);
  if (n < 3) return '';
  return s.length <= n ? s : `${s.slice(0, n - 2)}..`;
}

/** 1234567 → "1.2M", for axis labels. */
export function shortNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(2)}`;
}

export const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';
