import type { SearchOptions as MiniSearchOptions } from 'minisearch';
import { TYPE_ALIASES } from '../runtime/probe-cache.js';
import { conceptByName, conceptsIn, GENERIC_WORDS, stem, STOP_WORDS, words, type ConceptHit } from './concepts.js';

// What the user typed counts fully; a word added by a concept counts less, so a document that
// says what was asked outranks one that only shares the concept.
export const TYPED = 1;
const EXPANDED = 0.35;
// Concept names are indexed as tokens of their own; a shared concept is strong evidence of intent.
export const conceptToken = (name: string): string => `concept${name}`;
const SHARED_CONCEPT = 0.8;
// A word that names no event ("process", "program") beside one that does: see GENERIC_WORDS.
const GENERIC = 0.25;
let genericStems: Set<string> | undefined;
const isGeneric = (t: string): boolean => (genericStems ??= new Set([...GENERIC_WORDS].map(stem))).has(t);

/** A probe (glob) a triggered concept says observes what was asked, and how much it counts. */
export interface ConceptProbe {
  pattern: string;
  weight: number;
  concept: string;
}

/** Index terms of a text: stemmed words, with probe names also split at "_" ("vfs_write" → vfs, write). */
export function terms(text: string, typedAs?: Map<string, string>): string[] {
  const out: string[] = [];
  const add = (word: string) => {
    const t = stem(word);
    out.push(t);
    if (typedAs && !typedAs.has(t)) typedAs.set(t, word);
  };
  for (const w of words(text)) {
    for (const part of w.split(/[/'+-]/)) {
      if (!part || STOP_WORDS.has(part)) continue;
      add(part);
      if (part.includes('_')) for (const p of part.split('_')) if (p.length > 1 && !STOP_WORDS.has(p)) add(p);
    }
  }
  return out;
}

/** The concept tokens a document is indexed with. */
export const conceptTokens = (text: string): string =>
  conceptsIn(text)
    .map((c) => conceptToken(c.concept))
    .join(' ');

/** A query as weighted terms: what was typed, then what its concepts add. */
export class WeightedQuery {
  readonly weight = new Map<string, number>();
  /** Stemmed term → the word as typed, for explanations. */
  readonly typedAs = new Map<string, string>();
  readonly concepts: ConceptHit[];
  /** The stemmed terms that were typed (whatever their weight). */
  readonly typed = new Set<string>();
  /** The probes of the concepts triggered, in the concepts' order of usefulness. */
  readonly conceptProbes: ConceptProbe[] = [];

  constructor(readonly text: string) {
    for (const t of terms(text, this.typedAs)) this.typed.add(t);
    const specific = [...this.typed].some((t) => !isGeneric(t));
    for (const t of this.typed) this.weight.set(t, specific && isGeneric(t) ? GENERIC : TYPED);
    this.concepts = conceptsIn(text);
    for (const h of this.concepts) {
      const concept = conceptByName(h.concept)!;
      // A concept adds about as much as one typed word however many terms it has, so a document
      // that shares many of one concept's terms cannot outrank one that says what was asked.
      const added = terms(concept.terms.join(' '));
      const w = EXPANDED * Math.min(1, 3 / added.length);
      for (const t of added) if (!this.weight.has(t)) this.weight.set(t, specific && isGeneric(t) ? w * GENERIC : w);
      this.weight.set(conceptToken(h.concept), SHARED_CONCEPT);
      for (const pattern of concept.probes ?? []) this.conceptProbes.push({ pattern, weight: concept.probeWeight ?? 1, concept: concept.name });
    }
  }

  /**
   * How much the concepts triggered say a probe observes what was asked: the weight of the best
   * concept pattern that covers it, a little less for each pattern listed before it, plus a
   * little for each other concept that also names it.
   */
  conceptProbeScore(probe: string): number {
    let best = 0;
    let others = 0;
    const seen = new Set<string>();
    this.conceptProbes.forEach((c, i) => {
      if (!globCovers(c.pattern, probe)) return;
      const rank = i - this.conceptProbes.findIndex((x) => x.concept === c.concept);
      const w = c.weight * Math.max(0.7, 1 - 0.04 * rank);
      if (seen.has(c.concept)) return;
      seen.add(c.concept);
      if (w > best) {
        others += best ? 0.25 * best : 0;
        best = w;
      } else others += 0.25 * w;
    });
    return best + others;
  }

  get empty(): boolean {
    return this.weight.size === 0;
  }

  /** The query string and options MiniSearch needs for these weights. */
  miniSearch(): { query: string; options: MiniSearchOptions } {
    const w = this.weight;
    return {
      query: [...w.keys()].join(' '),
      options: {
        tokenize: (s) => s.split(' '),
        processTerm: (t) => t,
        boostTerm: (t) => w.get(t) ?? EXPANDED,
        // Prefix and typo tolerance only for what was typed, and only for longer words: "ext"
        // must not match every "exec", and an expansion term is already exact.
        prefix: (t) => w.get(t) === TYPED && t.length >= 4,
        fuzzy: (t) => (w.get(t) === TYPED && t.length >= 6 ? 0.2 : false),
        combineWith: 'OR',
      },
    };
  }

  /** Why a result matched: the typed words it contains and the concepts it shares. */
  explain(queryTerms: readonly string[]): { matched_terms: string[]; concepts: string[] } {
    const matched = new Set(queryTerms);
    return {
      matched_terms: queryTerms.filter((t) => this.typed.has(t)).map((t) => this.typedAs.get(t) ?? t),
      concepts: this.concepts
        .filter((h) => matched.has(conceptToken(h.concept)) || terms(conceptByName(h.concept)!.terms.join(' ')).some((t) => matched.has(t)))
        .map((h) => `${h.concept} (from "${h.via}")`),
    };
  }
}

const globCache = new Map<string, RegExp>();

const globRx = (g: string): RegExp => {
  let r = globCache.get(g);
  if (!r) {
    r = new RegExp(
      `^${g
        .split('*')
        .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    globCache.set(g, r);
  }
  return r;
};

/**
 * A probe spec in one spelling, for comparing: the type in full ("t:" → "tracepoint:"), a
 * uprobe's file by its name, and a library named as "@libc" turned into a glob of that name.
 */
export function normalizeSpec(spec: string): string {
  const i = spec.indexOf(':');
  if (i < 0) return spec;
  const type = spec.slice(0, i);
  let rest = spec.slice(i).replace(/^:@([\w.+-]+):/, ':*$1*:');
  // One file has several paths (/lib is /usr/lib on merged-/usr systems): compare by its name.
  if (/^(uprobe|uretprobe|usdt)$/.test(TYPE_ALIASES[type] ?? type)) rest = rest.replace(/^:\/[^:]*\/([^/:]+):/, ':$1:');
  return `${TYPE_ALIASES[type] ?? type}${rest}`;
}

/** Whether a probe glob covers a probe, or the probe (itself a glob, as examples write them) covers the glob's fixed part. */
export function globCovers(glob: string, probe: string): boolean {
  const g = normalizeSpec(glob);
  const p = normalizeSpec(probe);
  if (globRx(g).test(p)) return true;
  return p.includes('*') && globRx(p).test(g.replace(/\*/g, ''));
}
