/**
 * What the policy's overhead and data rules need to know about a program, read from its
 * tokens and probes alone: never from what this kernel lists, so `kprobe:*` is judged the same
 * on a kernel without kprobes as on one with 50,000 functions.
 */
import path from 'node:path';
import { rateOf } from '../validation/estimate.js';
import type { ProbeSpec } from '../validation/probes.js';
import { findCalls, type Call, type Token } from '../validation/tokens.js';
import type { AnalyzedProgram } from '../validation/validator.js';

const globSource = (glob: string) =>
  glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');

const globs = new Map<string, RegExp>();
/** A glob (only `*` is special) as a regular expression, compiled once: every run evaluates every rule. */
export function globRx(glob: string): RegExp {
  let rx = globs.get(glob);
  if (!rx) globs.set(glob, (rx = new RegExp(`^${globSource(glob)}$`)));
  return rx;
}

const lists = new WeakMap<readonly string[], RegExp>();
/** Whether text matches any glob of a rule's list (one expression per list, compiled once). */
export function matchesAny(list: readonly string[], text: string): boolean {
  let rx = lists.get(list);
  if (!rx) lists.set(list, (rx = new RegExp(`^(?:${list.map(globSource).join('|') || '(?!)'})$`)));
  return rx.test(text);
}

/** The attach point with its type's short alias expanded ("t:" → "tracepoint:"), as globs read it. */
export const expandedProbe = (spec: Pick<ProbeSpec, 'type' | 'text'>) =>
  `${spec.type}${spec.text.includes(':') ? spec.text.slice(spec.text.indexOf(':')) : ''}`;

const UNITS: Record<string, number> = { hz: 0, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
// A clock event's period counts nanoseconds; a cycle counter's, cycles (taken at 1 GHz, a floor).
const PERIOD_HZ: Record<string, number> = {
  'cpu-clock': 1e9,
  cpu: 1e9,
  'task-clock': 1e9,
  'cpu-cycles': 1e9,
  cycles: 1e9,
  instructions: 1e9,
  'ref-cycles': 1e9,
};
const DEFAULT_PERIOD = 1e6;

/**
 * Events per second per CPU of a timed or sampled probe (profile, interval, software clocks,
 * hardware cycle counters), or undefined for a probe whose rate depends on the workload.
 * A predicate does not change it: the timer or counter fires and runs the program regardless.
 */
export function sampleRate(spec: Pick<ProbeSpec, 'type' | 'text'>): number | undefined {
  const parts = spec.text.split(':').slice(1);
  if (spec.type === 'profile' || spec.type === 'interval') {
    // profile:hz:99, profile:ms:10, and the newer one-word form profile:10ms.
    const [a, b] = parts;
    let unit = a;
    let n = Number(b);
    const joined = /^(\d+)(hz|s|ms|us|ns)$/.exec(a ?? '');
    if (joined) [unit, n] = [joined[2], Number(joined[1])];
    if (!(unit in UNITS) || !(n > 0)) return undefined;
    return unit === 'hz' ? n : 1 / (n * UNITS[unit]);
  }
  if (spec.type === 'software' || spec.type === 'hardware') {
    const scale = PERIOD_HZ[parts[0] ?? ''];
    if (!scale) return undefined;
    const period = parts[1] !== undefined ? Number(parts[1]) : DEFAULT_PERIOD;
    return period > 0 ? scale / period : undefined;
  }
  return undefined;
}

/** The part of an attach point a wildcard ranges over: a function, or a tracepoint's category:event. */
function namePart(spec: Pick<ProbeSpec, 'type' | 'text'>): string | undefined {
  const rest = spec.text.slice(spec.text.indexOf(':') + 1);
  if (!spec.text.includes(':')) return undefined;
  if (spec.type === 'tracepoint' || spec.type === 'rawtracepoint') return rest;
  return rest.slice(rest.lastIndexOf(':') + 1);
}

export interface WildcardShape {
  /** Identifier characters the pattern fixes (`kprobe:vfs_*`: 4; `tracepoint:*:*`: 0). */
  literal: number;
  /** Characters before the first `*` (`kprobe:*tcp*`: 0: it matches anywhere in a name). */
  prefix: number;
}

/** How wide a wildcard is, from the pattern itself; undefined when the name part has none. */
export function wildcardShape(spec: Pick<ProbeSpec, 'type' | 'text'>): WildcardShape | undefined {
  const name = namePart(spec);
  if (name === undefined || !name.includes('*')) return undefined;
  return { literal: (name.match(/[A-Za-z0-9_]/g) ?? []).length, prefix: name.indexOf('*') };
}

const isAssign = (tokens: readonly Token[], i: number) => {
  // `=` but not `==`, `!=`, `<=`, `>=`; compound forms (`+=`) and `++`/`--` also write.
  const t = tokens[i];
  if (t?.type !== 'punct') return false;
  const next = tokens[i + 1];
  const adjacent = next && next.start === t.end;
  if (t.text === '=') return !(adjacent && next.text === '=');
  if ('+-*/%|&^'.includes(t.text) && adjacent && next.text === '=') return true;
  return (t.text === '+' || t.text === '-') && adjacent && next.text === t.text;
};

/** Index just past the bracket that closes the one at i. */
function closeOf(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.type !== 'punct') continue;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text) && --depth === 0) return j + 1;
  }
  return tokens.length;
}

/** The right-hand side of an assignment whose operator is at i: up to `;` or the block's end. */
function rhsOf(tokens: readonly Token[], i: number): Token[] {
  const out: Token[] = [];
  let depth = 0;
  for (let j = i + 1; j < tokens.length; j++) {
    const t = tokens[j];
    if (t.type === 'punct' && '([{'.includes(t.text)) depth++;
    if (t.type === 'punct' && ')]}'.includes(t.text) && --depth < 0) break;
    if (depth === 0 && t.type === 'punct' && t.text === ';') break;
    if (t.text !== '=' || out.length) out.push(t);
  }
  return out;
}

const textOf = (tokens: readonly Token[]) => tokens.map((t) => t.text).join('');

export interface Assignment {
  /** `$x`, or a map's name (`@start`, `@` for the anonymous map). */
  target: string;
  /** A map's key elements, split at top-level commas (empty for a variable or a map without keys). */
  keys: Token[][];
  rhs: Token[];
  /** The token that names the target, for the finding's place. */
  at: Token;
}

/** Every write in a probe body: `$x = …`, `@m[k] = …`, `@m[k]++`, `@m[k] += …`. */
export function assignments(body: readonly Token[]): Assignment[] {
  const out: Assignment[] = [];
  for (let i = 0; i < body.length; i++) {
    const t = body[i];
    if (t.type !== 'map' && t.type !== 'var') continue;
    const prev = body[i - 1];
    if (prev && prev.type === 'punct' && (prev.text === '.' || prev.text === '>')) continue;
    let j = i + 1;
    const keys: Token[][] = [];
    if (t.type === 'map' && body[j]?.text === '[') {
      const end = closeOf(body, j);
      let cur: Token[] = [];
      let depth = 0;
      for (let k = j + 1; k < end - 1; k++) {
        const a = body[k];
        if (a.type === 'punct' && '([{'.includes(a.text)) depth++;
        if (a.type === 'punct' && ')]}'.includes(a.text)) depth--;
        if (depth === 0 && a.type === 'punct' && a.text === ',') {
          keys.push(cur);
          cur = [];
        } else cur.push(a);
      }
      if (cur.length) keys.push(cur);
      j = end;
    }
    if (isAssign(body, j)) out.push({ target: t.text, keys, rhs: rhsOf(body, j), at: t });
  }
  return out;
}

/** Maps the program deletes from or clears: their keys do not pile up. */
export function prunedMaps(tokens: readonly Token[]): Set<string> {
  const out = new Set<string>();
  for (const c of findCalls(tokens)) {
    if (c.name !== 'delete' && c.name !== 'clear') continue;
    const first = c.args[0]?.[0];
    if (first?.type === 'map') out.add(first.text);
  }
  return out;
}

export interface Block {
  specs: ProbeSpec[];
  body: Token[];
  writes: Assignment[];
  calls: Call[];
}

// Several rules read the same program's blocks: take it apart once per program.
const blockCache = new WeakMap<AnalyzedProgram, Block[]>();

/** The program's blocks: each body once, with every attach point it serves, its writes and calls. */
export function blocks(program: AnalyzedProgram): Block[] {
  let out = blockCache.get(program);
  if (!out) {
    const byBody = new Map<Token[], ProbeSpec[]>();
    for (const spec of program.probes) byBody.set(spec.body, [...(byBody.get(spec.body) ?? []), spec]);
    out = [...byBody].map(([body, specs]) => ({ specs, body, writes: assignments(body), calls: findCalls(body) }));
    blockCache.set(program, out);
  }
  return out;
}

export interface KeyFinding {
  map: string;
  key: string;
  at: Token;
}

/**
 * Map writes whose key matches one of `keys` (regular expressions over a key element as
 * written, spaces removed; a variable reads as the expression assigned to it), in blocks that
 * `where` accepts. A map the program deletes from or clears is bounded, whatever its keys.
 */
export function keyedWrites(program: AnalyzedProgram, keys: readonly RegExp[], where: (specs: ProbeSpec[]) => boolean): KeyFinding[] {
  const pruned = prunedMaps(program.tokens);
  const out: KeyFinding[] = [];
  for (const { specs, writes } of blocks(program)) {
    if (!where(specs)) continue;
    const vars = new Map<string, string>();
    for (const w of writes) if (w.target.startsWith('$')) vars.set(w.target, `(${textOf(w.rhs)})`);
    for (const w of writes) {
      if (!w.target.startsWith('@') || pruned.has(w.target)) continue;
      for (const k of w.keys) {
        const text = k.map((t) => (t.type === 'var' ? (vars.get(t.text) ?? t.text) : t.text)).join('');
        if (keys.some((rx) => rx.test(text))) {
          out.push({ map: w.target, key: text, at: w.at });
          break;
        }
      }
    }
  }
  return out;
}

/** Whether a block fires often: the estimate's "high" class, or one of the rule's globs. */
export const busy = (specs: readonly ProbeSpec[], globs: readonly string[]) =>
  specs.some((s) => rateOf(s, []) === 'high' || matchesAny(globs, expandedProbe(s)));

export interface CopyFinding {
  call: string;
  arg: string;
  at: Token;
}

/**
 * Calls that copy memory (`str`, `buf`) of a data buffer: an argument matching `args` in a
 * block on one of `probes`, or a variable or map that holds one (`@buf[tid] = args->buf` at
 * entry, `str(@buf[tid])` at exit), followed through assignments across blocks.
 */
export function bufferCopies(program: AnalyzedProgram, opts: { calls: readonly string[]; probes: readonly string[]; args: readonly RegExp[] }): CopyFinding[] {
  const all = blocks(program);
  const onDataPath = (specs: readonly ProbeSpec[]) => specs.some((s) => matchesAny(opts.probes, expandedProbe(s)));
  const isBuffer = (tokens: readonly Token[]) => opts.args.some((rx) => rx.test(textOf(tokens)));
  const holders = new Set<string>();
  const mentions = (tokens: readonly Token[]) => tokens.some((t) => (t.type === 'var' || t.type === 'map') && holders.has(t.text));
  const writes = all.map((b) => ({ data: onDataPath(b.specs), writes: b.writes }));
  for (let changed = true; changed;) {
    changed = false;
    for (const b of writes)
      for (const w of b.writes) {
        if (holders.has(w.target)) continue;
        if ((b.data && isBuffer(w.rhs)) || mentions(w.rhs)) {
          holders.add(w.target);
          changed = true;
        }
      }
  }
  const out: CopyFinding[] = [];
  all.forEach((b, i) => {
    for (const c of b.calls) {
      const first = c.args[0] ?? [];
      if (!opts.calls.includes(c.name) || !first.length) continue;
      if ((writes[i].data && isBuffer(first)) || mentions(first)) out.push({ call: c.name, arg: textOf(first), at: c.token });
    }
  });
  return out;
}

/**
 * The names a program points at: its string literals, the binaries and libraries its uprobes
 * and USDT probes name, and the positional parameters after `--` ($1 may be "sshd"), each as
 * written and by its file's base name.
 */
export function namedTargets(program: AnalyzedProgram | undefined, argv: readonly string[]): string[] {
  const names: string[] = [];
  const add = (s: string) => {
    names.push(s);
    if (s.includes('/')) names.push(path.posix.basename(s));
  };
  for (const t of program?.tokens ?? []) if (t.type === 'string') add(t.text);
  for (const spec of program?.probes ?? []) {
    if (!/^(uprobe|uretprobe|usdt)$/.test(spec.type)) continue;
    const target = spec.text.split(':')[1];
    if (target) add(target);
  }
  const end = argv.indexOf('--');
  if (end >= 0) argv.slice(end + 1).forEach(add);
  return names;
}
