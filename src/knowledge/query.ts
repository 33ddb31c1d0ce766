import type { SearchOptions as MiniSearchOptions } from 'minisearch';
import { conceptByName, conceptsIn, stem, STOP_WORDS, words, type ConceptHit } from './concepts.js';

// What the user typed counts fully; a word added by a concept counts less, so a document that
// says what was asked outranks one that only shares the concept.
export const TYPED = 1;
const EXPANDED = 0.35;
// Concept names are indexed as tokens of their own; a shared concept is strong evidence of intent.
export const conceptToken = (name: string): string => `concept${name}`;
const SHARED_CONCEPT = 0.8;

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

  constructor(readonly text: string) {
    for (const t of terms(text, this.typedAs)) this.weight.set(t, TYPED);
    this.concepts = conceptsIn(text);
    for (const h of this.concepts) {
      // A concept adds about as much as one typed word however many terms it has, so a document
      // that shares many of one concept's terms cannot outrank one that says what was asked.
      const added = terms(conceptByName(h.concept)!.terms.join(' '));
      const w = EXPANDED * Math.min(1, 3 / added.length);
      for (const t of added) if (!this.weight.has(t)) this.weight.set(t, w);
      this.weight.set(conceptToken(h.concept), SHARED_CONCEPT);
    }
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
      matched_terms: queryTerms.filter((t) => this.weight.get(t) === TYPED).map((t) => this.typedAs.get(t) ?? t),
      concepts: this.concepts
        .filter((h) => matched.has(conceptToken(h.concept)) || terms(conceptByName(h.concept)!.terms.join(' ')).some((t) => matched.has(t)))
        .map((h) => `${h.concept} (from "${h.via}")`),
    };
  }
}
