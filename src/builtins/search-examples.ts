import type { RankedHit } from '../knowledge/library.js';
import { errorResult } from '../results/tool-result.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  query: string;
  limit: number;
  tags?: string[];
}

export const exampleUri = (id: string): string => `mcptrace://examples/${id}`;

function entry(h: RankedHit) {
  const e = h.example;
  return {
    id: e.id,
    title: e.title,
    description: e.description,
    category: e.category,
    tags: e.tags,
    source: e.source,
    program: e.program,
    probes: e.probes,
    requires: e.requires,
    complexity: e.complexity,
    output: e.output,
    score: Math.round(h.score * 1000) / 1000,
    why: { matched_terms: h.matched_terms, concepts: h.concepts },
    runs_here: h.availability.runs_here,
    probes_exist: h.availability.probes_exist,
    missing_probes: h.availability.missing_probes,
    bpftrace_version: h.availability.bpftrace_version,
    compiles_on_version: h.availability.compiles_on_version,
    resource: exampleUri(e.id),
  };
}

function status(r: ReturnType<typeof entry>): string {
  if (r.runs_here) {
    if (r.probes_exist === null) return 'probes not checked';
    return r.compiles_on_version === null ? `probes exist here; not compile-checked with bpftrace ${r.bpftrace_version ?? '?'}` : 'runs here';
  }
  const why = [
    ...(r.probes_exist === false ? [`missing here: ${r.missing_probes.join(', ')}`] : []),
    ...(r.compiles_on_version === false ? [`does not compile with bpftrace ${r.bpftrace_version}`] : []),
  ];
  return why.join('; ');
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() ? `    ${l}` : ''))
    .join('\n');

export default defineBuiltin<Input>({
  handler: 'search_examples',
  async run(input, ctx) {
    const query = input.query.trim();
    if (!query) return errorResult('query is empty: describe what you want to observe, e.g. "disk latency" or "who opens /etc/passwd"', 'input');
    const hits = await ctx.knowledge.search(query, { limit: input.limit, tags: input.tags });
    const results = hits.map(entry);
    if (!results.length) {
      const tags = input.tags?.length ? ` with tags ${input.tags.join(', ')}` : '';
      return {
        structured: { query, count: 0, results },
        text: `no example matches "${query}"${tags}. Try other words for the same goal (e.g. "disk latency", "process exec", "tcp connect"), drop the tags, or find probes with discover_probes.`,
      };
    }
    const text = results
      .map((r, i) => {
        const why = [
          r.why.matched_terms.length ? `words: ${r.why.matched_terms.join(', ')}` : '',
          r.why.concepts.length ? `concepts: ${r.why.concepts.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        return [
          `${i + 1}. ${r.id}: ${r.title}  [${status(r)}]`,
          `   ${r.description}`,
          `   why: ${why || 'a loose match'}`,
          `   ${r.category} · ${r.complexity} · output ${r.output} · ${r.source === 'machine' ? 'installed with bpftrace · ' : ''}${r.resource}`,
          '',
          indent(r.program),
        ].join('\n');
      })
      .join('\n\n');
    return { structured: { query, count: results.length, results }, text };
  },
});
