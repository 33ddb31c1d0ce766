#!/usr/bin/env node
// Hit rates of search_examples on a query set: top-1 and top-3, per split (tune / heldout) and
// per style. Ranks as the server does on this machine (kernel probes and bpftrace version
// included). Usage: npm run eval:search [-- --queries FILE] [-- --misses]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Core } from '../dist/core/core.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const file = arg('--queries') ?? path.join(REPO, 'test/search/queries.yaml');
const showMisses = process.argv.includes('--misses');

/** Ranks every query of a set as the server would; throws on ids that are not examples. */
export async function evaluate(queryFile, kb = new Core().knowledge) {
  const { queries } = parse(readFileSync(queryFile, 'utf8'));
  const known = new Set((await kb.examples()).map((e) => e.id));
  const unknown = queries.flatMap((q) => q.relevant.filter((id) => !known.has(id)).map((id) => `${id} (in "${q.q}")`));
  if (unknown.length) throw new Error(`unknown example ids in ${queryFile}:\n  ${unknown.join('\n  ')}`);
  const rows = [];
  for (const q of queries) {
    const hits = (await kb.search(q.q, { limit: 3 })).map((h) => h.example.id);
    const rank = hits.findIndex((id) => q.relevant.includes(id));
    rows.push({ ...q, hits, top1: rank === 0, top3: rank >= 0 });
  }
  return { rows, indexed: known.size };
}

export const pct = (xs, k) => (xs.length ? `${((100 * xs.filter((r) => r[k]).length) / xs.length).toFixed(1)}%` : '-');
const line = (label, xs) =>
  `${label.padEnd(16)} n=${String(xs.length).padStart(3)}  top-1 ${pct(xs, 'top1').padStart(6)}  top-3 ${pct(xs, 'top3').padStart(6)}`;
// Run as a script it prints the table; a test imports evaluate() alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

async function main() {
  let rows;
  let indexed;
  try {
    ({ rows, indexed } = await evaluate(file));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  console.log(`search_examples on ${path.relative(REPO, file)} (${indexed} examples indexed)`);
  console.log(line('all', rows));
  for (const split of [...new Set(rows.map((r) => r.split))])
    console.log(
      line(
        split,
        rows.filter((r) => r.split === split),
      ),
    );
  for (const style of ['terse', 'verbose', 'symptom', 'question'])
    console.log(
      line(
        `  ${style}`,
        rows.filter((r) => r.style === style),
      ),
    );
  const misses = rows.filter((r) => !r.top3);
  if (misses.length && showMisses) {
    console.log('\nmissed in the top 3:');
    for (const m of misses) console.log(`  [${m.split}] "${m.q}" wants ${m.relevant.join('|')}; got ${m.hits.join(', ')}`);
  }
}
