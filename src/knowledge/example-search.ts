import type MiniSearch from 'minisearch';
import { conceptByName, conceptsIn, stem, STOP_WORDS, words } from './concepts.js';
import type { Example } from './examples.js';

/** Why an example matched: the query words it contains and the concepts both share. */
export interface SearchHit {
  example: Example;
  score: number;
  matched_terms: string[];
  concepts: string[];
}

export interface SearchOptions {
  limit: number;
  /** Every tag must be one of the example's tags or its category. */
  tags?: string[];
}

interface Doc {
  id: string;
  title: string;
  tags: string;
  category: string;
  description: string;
  probes: string;
  concepts: string;
}

// What the user typed counts fully; a word added by a concept counts less, so an example that
// says what was asked outranks one that only shares the concept.
const TYPED = 1;
const EXPANDED = 0.35;
// Concept names are indexed as tokens of their own; a shared concept is strong evidence of intent.
const CONCEPT_TOKEN = (name: string) => `concept${name}`;
const SHARED_CONCEPT = 0.8;

/** Index terms of a text: stemmed words, with probe names also split at "_" ("vfs_write" → vfs, write). */
function terms(text: string, typedAs?: Map<string, string>): string[] {
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

const conceptTokens = (text: string): string =>
  conceptsIn(text)
    .map((c) => CONCEPT_TOKEN(c.concept))
    .join(' ');

function toDoc(e: Example): Doc {
  const probeText = e.probes.join(' ');
  return {
    id: e.id,
    title: e.title,
    tags: e.tags.join(' '),
    category: e.category,
    description: e.description,
    probes: probeText,
    concepts: conceptTokens([e.title, e.tags.join(' '), e.category, e.description, probeText.replace(/[:_]/g, ' ')].join(' ')),
  };
}

/** The full-text index of the examples (MiniSearch, BM25) with tracing-concept expansion. */
export class ExampleIndex {
  private readonly byId: Map<string, Example>;

  private constructor(
    private readonly ms: MiniSearch<Doc>,
    readonly examples: readonly Example[],
  ) {
    this.byId = new Map(examples.map((e) => [e.id, e]));
  }

  /** MiniSearch is imported here, on first search, so start-up never pays for it. */
  static async build(examples: readonly Example[]): Promise<ExampleIndex> {
    const { default: MiniSearchClass } = await import('minisearch');
    const ms = new MiniSearchClass<Doc>({
      fields: ['title', 'tags', 'category', 'description', 'probes', 'concepts'],
      storeFields: [],
      tokenize: (text, field) => (field === 'concepts' ? text.split(' ').filter(Boolean) : terms(text)),
      processTerm: (t) => t,
    });
    ms.addAll(examples.map(toDoc));
    return new ExampleIndex(ms, examples);
  }

  get(id: string): Example | undefined {
    return this.byId.get(id);
  }

  search(query: string, opts: SearchOptions): SearchHit[] {
    const typedAs = new Map<string, string>();
    const typed = [...new Set(terms(query, typedAs))];
    const hits = conceptsIn(query);
    const weight = new Map<string, number>(typed.map((t) => [t, TYPED]));
    for (const h of hits) {
      for (const t of terms(conceptByName(h.concept)!.terms.join(' '))) if (!weight.has(t)) weight.set(t, EXPANDED);
      weight.set(CONCEPT_TOKEN(h.concept), SHARED_CONCEPT);
    }
    if (!weight.size) return [];
    const wanted = (opts.tags ?? []).map((t) => t.toLowerCase());
    const results = this.ms.search(Array.from(weight.keys()).join(' '), {
      tokenize: (s) => s.split(' '),
      processTerm: (t) => t,
      boostTerm: (t) => weight.get(t) ?? EXPANDED,
      boost: { title: 2.5, tags: 2, category: 1.5, description: 1, probes: 1.5, concepts: 1 },
      // Prefix and typo tolerance only for what was typed, and only for longer words: "ext" must
      // not match every "exec", and an expansion term is already exact.
      prefix: (t) => weight.get(t) === TYPED && t.length >= 4,
      fuzzy: (t) => (weight.get(t) === TYPED && t.length >= 6 ? 0.2 : false),
      combineWith: 'OR',
      filter: wanted.length
        ? (r) => {
            const e = this.byId.get(r.id as string)!;
            const have = new Set([...e.tags.map((t) => t.toLowerCase()), e.category.toLowerCase()]);
            return wanted.every((t) => have.has(t));
          }
        : undefined,
    });
    return results.slice(0, Math.max(opts.limit, 0)).map((r) => {
      const matched = new Set(r.queryTerms);
      return {
        example: this.byId.get(r.id as string)!,
        score: r.score,
        matched_terms: r.queryTerms.filter((t) => weight.get(t) === TYPED).map((t) => typedAs.get(t) ?? t),
        concepts: hits
          .filter((h) => matched.has(CONCEPT_TOKEN(h.concept)) || terms(conceptByName(h.concept)!.terms.join(' ')).some((t) => matched.has(t)))
          .map((h) => `${h.concept} (from "${h.via}")`),
      };
    });
  }
}
