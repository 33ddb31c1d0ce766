import { Budget } from './budget.js';
import type { TypedMap } from '../runtime/output-decoder.js';
import { isRecord, mapEntries } from './model.js';

/**
 * Folded stacks ("root;child;leaf COUNT"), the format FlameGraph, speedscope and Grafana's
 * flame graph panel read, from a map keyed by kstack/ustack. The frames follow FlameGraph's
 * stackcollapse-bpftrace rules: one frame a line, trimmed, `+offset` dropped, leaf last after
 * reversing bpftrace's leaf-first order. Key parts before the stack (`@[comm, kstack]`) become
 * root frames, so each process gets its own tower, as offcputime-style tools print them.
 */
export interface FoldedStacks {
  map: string;
  /** Folded stack → samples, in first-seen order; identical stacks after folding are summed. */
  stacks: Map<string, number>;
  samples: number;
  /** Samples whose stack was empty (e.g. a user stack of a kernel thread): no frame to draw. */
  empty: number;
}

/** Whether a map is keyed by stacks: its keys carry bpftrace's multi-line stack text. */
export function isStackMap(m: TypedMap): boolean {
  if (m.type !== 'map' || !isRecord(m.value)) return false;
  const keys = m.keys ?? Object.keys(m.value);
  return keys.length > 0 && keys.some((k) => k.includes('\n')) && keys.every((k) => k === '' || k.includes('\n'));
}

export function framesOfKey(key: string): string[] {
  const nl = key.indexOf('\n');
  const prefix = nl < 0 ? key : key.slice(0, nl);
  const roots = prefix
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const frames = (nl < 0 ? '' : key.slice(nl))
    .split('\n')
    .map((l) => l.trim().replace(/\+\d+$/, ''))
    .filter((l) => l && l !== ',')
    .reverse();
  return [...roots, ...frames];
}

export async function foldStacks(m: TypedMap, budget = new Budget()): Promise<FoldedStacks> {
  const stacks = new Map<string, number>();
  let samples = 0;
  let empty = 0;
  for (const [key, value] of mapEntries(m)) {
    if (budget.due()) await budget.pause();
    const n = Number(value);
    if (!Number.isFinite(n) || key === null) continue;
    samples += n;
    const frames = framesOfKey(key);
    if (!frames.length) {
      empty += n;
      continue;
    }
    const folded = frames.join(';');
    stacks.set(folded, (stacks.get(folded) ?? 0) + n);
  }
  return { map: m.name, stacks, samples, empty };
}

/** The folded text: one stack a line, as stackcollapse scripts write it. */
export const foldedText = (f: Pick<FoldedStacks, 'stacks'>): string => [...f.stacks].map(([s, n]) => `${s} ${n}`).join('\n') + (f.stacks.size ? '\n' : '');

/** Reads folded text back (for a differential flame graph of two saved profiles). */
export function parseFolded(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Samples per leaf frame (self time), largest first. */
export function leafFrames(stacks: ReadonlyMap<string, number>): { frame: string; samples: number }[] {
  const by = new Map<string, number>();
  for (const [s, n] of stacks) {
    const leaf = s.slice(s.lastIndexOf(';') + 1);
    by.set(leaf, (by.get(leaf) ?? 0) + n);
  }
  return [...by].map(([frame, samples]) => ({ frame, samples })).sort((a, b) => b.samples - a.samples || a.frame.localeCompare(b.frame));
}
