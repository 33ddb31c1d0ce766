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
  return keys.some((k) => k.includes('\n'));
}

/**
 * The frames of one key, root first. bpftrace prints a stack leaf first, one frame a line; in a
 * tuple key the other elements sit before it (`comm,\n…`) or after it (`\n…\n,comm`), and
 * two stacks (`kstack, ustack`) follow each other after a `,`. Plain elements become root
 * frames, and a later stack sits below an earlier one (user frames under the kernel's), as
 * offcputime-style folding does.
 */
export function framesOfKey(key: string): string[] {
  const lines = key.split('\n');
  const roots: string[] = [];
  const blocks: string[][] = [[]];
  const addElements = (text: string) =>
    roots.push(
      ...text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    );
  addElements(lines[0]);
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line.startsWith(',')) {
      blocks.push([]);
      addElements(line.slice(1));
    } else if (line) {
      blocks[blocks.length - 1].push(line.replace(/\+\d+$/, ''));
    }
  }
  return [...roots, ...blocks.reverse().flatMap((b) => b.reverse())];
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
