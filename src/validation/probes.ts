import type { Token } from './tokens.js';
import { TYPE_ALIASES } from '../runtime/probe-cache.js';

export interface ProbeSpec {
  /** The attach point as written, e.g. "tracepoint:syscalls:sys_enter_open*". */
  text: string;
  /** The probe type, with bpftrace's short aliases expanded ("t" → "tracepoint"). */
  type: string;
  line: number;
  col: number;
  /** Whether the probe block has a predicate (/.../) before its body. */
  filtered: boolean;
  /** Tokens of the probe's body, for rules that look at what one probe does. */
  body: Token[];
}

/**
 * bpftrace's short names, as the probe listing reads them, with kfunc/kretfunc under their newer
 * names (fentry/fexit, since 0.20), which rules and suggestions use.
 */
const ALIASES: Record<string, string> = {
  ...TYPE_ALIASES,
  f: 'fentry',
  fr: 'fexit',
  kfunc: 'fentry',
  kretfunc: 'fexit',
  w: 'watchpoint',
  aw: 'asyncwatchpoint',
};

/** Probe types bpftrace knows (any version we support), for "did you mean" on a typo. */
export const PROBE_TYPES = [
  'BEGIN',
  'END',
  'begin',
  'end',
  'self',
  'tracepoint',
  'rawtracepoint',
  'kprobe',
  'kretprobe',
  'uprobe',
  'uretprobe',
  'usdt',
  'profile',
  'interval',
  'software',
  'hardware',
  'kfunc',
  'kretfunc',
  'fentry',
  'fexit',
  'iter',
  'watchpoint',
  'asyncwatchpoint',
  'test',
  'bench',
] as const;

export const probeType = (text: string): string => {
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  return ALIASES[head] ?? head;
};

// Top-level constructs of newer bpftrace that are not probes.
const NOT_PROBES = new Set(['config', 'macro', 'fn', 'import', 'let']);

/**
 * The probes a program attaches, from its tokens: at brace depth 0, tokens written without
 * space between them form one attach point ("uprobe:/bin/bash:readline" is many tokens), a
 * comma separates attach points, and a "/" after a space starts the predicate.
 */
export function extractProbes(src: string, tokens: readonly Token[]): ProbeSpec[] {
  const out: ProbeSpec[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i];
    if (t.type === 'directive') {
      i++;
      continue;
    }
    if (t.type === 'ident' && NOT_PROBES.has(t.text) && tokens[i + 1] && tokens[i + 1].start > t.end) {
      i = skipTopLevel(tokens, i);
      continue;
    }
    // One probe block: attach points, optional predicate, body.
    const specs: { first: Token; last: Token }[] = [];
    let filtered = false;
    while (i < tokens.length && tokens[i].text !== '{') {
      const cur = tokens[i];
      if (cur.type === 'punct' && cur.text === ',') {
        i++;
        continue;
      }
      if (cur.type === 'punct' && cur.text === '/' && specs.length) {
        filtered = true;
        i++;
        while (i < tokens.length && !(tokens[i].type === 'punct' && tokens[i].text === '/' && tokens[i + 1]?.text === '{')) i++;
        i++;
        continue;
      }
      if (cur.type === 'punct' && cur.text === '}') {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < tokens.length && tokens[j + 1].start === tokens[j].end && tokens[j + 1].text !== ',' && tokens[j + 1].text !== '{') j++;
      specs.push({ first: tokens[i], last: tokens[j] });
      i = j + 1;
    }
    const bodyStart = i;
    i = matchBrace(tokens, i);
    const body = tokens.slice(bodyStart + 1, Math.max(bodyStart + 1, i - 1));
    for (const s of specs) {
      const text = src.slice(s.first.start, s.last.end);
      // Stray characters (a lone quote, a NUL) are bpftrace's syntax error, not attach points.
      if (!/^[A-Za-z]/.test(text)) continue;
      out.push({ text, type: probeType(text), line: s.first.line, col: s.first.col, filtered, body });
    }
  }
  return out;
}

/** Index just past the "}" that closes the "{" at i (or the end). */
function matchBrace(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== 'punct') continue;
    if (t.text === '{') depth++;
    else if (t.text === '}' && --depth === 0) return i + 1;
  }
  return i;
}

/** Skips a config block, macro, function or import at the top level. */
function skipTopLevel(tokens: readonly Token[], i: number): number {
  for (; i < tokens.length; i++) {
    if (tokens[i].text === ';') return i + 1;
    if (tokens[i].text === '{') return matchBrace(tokens, i);
  }
  return i;
}
