import type MiniSearch from 'minisearch';
import type { Example } from './examples.js';
import { conceptTokens, terms, WeightedQuery } from './query.js';

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

const OPTIONS = {
  fields: ['title', 'tags', 'category', 'description', 'probes', 'concepts'],
  storeFields: [],
  tokenize: (text: string, field?: string) => (field === 'concepts' ? text.split(' ').filter(Boolean) : terms(text)),
  processTerm: (t: string) => t,
};

// Less than in discovery: an example's text says more about its intent than a probe's name does.
const CONCEPT_LIFT = 0.6;

/** The full-text index of the examples (MiniSearch, BM25) with tracing-concept expansion. */
export class ExampleIndex {
  private readonly byId: Map<string, Example>;

  private constructor(
    private readonly ms: MiniSearch<Doc>,
    readonly examples: readonly Example[],
  ) {
    this.byId = new Map(examples.map((e) => [e.id, e]));
  }

  /**
   * MiniSearch is imported here, on first search, so start-up never pays for it. `prebuilt` is
   * the build's index of the first examples (the library), to which the rest are added.
   */
  static async build(examples: readonly Example[], prebuilt?: { json: string; count: number }): Promise<ExampleIndex> {
    const { default: MiniSearchClass } = await import('minisearch');
    const ms = prebuilt ? MiniSearchClass.loadJSON<Doc>(prebuilt.json, OPTIONS) : new MiniSearchClass<Doc>(OPTIONS);
    ms.addAll(examples.slice(prebuilt?.count ?? 0).map(toDoc));
    return new ExampleIndex(ms, examples);
  }

  /** The index as JSON, for the build's cache. */
  toJSON(): string {
    return JSON.stringify(this.ms);
  }

  get(id: string): Example | undefined {
    return this.byId.get(id);
  }

  search(query: string, opts: SearchOptions): SearchHit[] {
    const q = new WeightedQuery(query);
    if (q.empty) return [];
    const wanted = (opts.tags ?? []).map((t) => t.toLowerCase());
    const { query: terms, options } = q.miniSearch();
    const results = this.ms.search(terms, {
      ...options,
      boost: { title: 2.5, tags: 2, category: 1.5, description: 1, probes: 1.5, concepts: 1 },
      filter: wanted.length
        ? (r) => {
            const e = this.byId.get(r.id as string)!;
            const have = new Set([...e.tags.map((t) => t.toLowerCase()), e.category.toLowerCase()]);
            return wanted.every((t) => have.has(t));
          }
        : undefined,
    });
    const hits = results.map((r) => ({ example: this.byId.get(r.id as string)!, score: r.score, ...q.explain(r.queryTerms) }));
    if (q.conceptProbes.length) {
      // An example built on the probes of a concept the query names is about it, whatever its
      // words: lift it, and bring in one that shares no word at all.
      const top = results[0]?.score ?? 1;
      const byId = new Map(hits.map((h) => [h.example.id, h]));
      for (const e of this.examples) {
        if (opts.tags?.length && !byId.has(e.id)) continue;
        const c = Math.max(0, ...e.probes.map((p) => q.conceptProbeScore(p)));
        if (!c) continue;
        const h = byId.get(e.id);
        if (h) h.score += top * CONCEPT_LIFT * c;
        else hits.push({ example: e, score: top * CONCEPT_LIFT * c, matched_terms: [], concepts: [] });
      }
      hits.sort((a, b) => b.score - a.score);
    }
    return hits.slice(0, Math.max(opts.limit, 0));
  }
}
