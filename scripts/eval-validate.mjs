#!/usr/bin/env node
// The validator's evaluation over test/validation/corpus.yaml against real bpftrace:
//   category accuracy and hint rate on the broken programs, false rejections of the valid ones
//   (must be 0), and the safety verdict accuracy at each level.
// Usage: npm run eval:validate [-- --bpftrace PATH] [-- --json]
// (test/validation/corpus.test.ts runs the same evaluation and asserts the thresholds.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CORPUS = path.join(REPO, 'test/validation/corpus.yaml');

export const loadCorpus = () => parse(readFileSync(CORPUS, 'utf8'));

/** Runs `fn` over `items` with at most `n` at a time (2 cores here, shared). */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * Evaluates a Core (dist/core/core.js) on the corpus. `version` is "major.minor" of the
 * bpftrace in use, for cases limited to some versions. Returns the figures and every miss.
 */
export async function evaluate(core, { version, parts = ['broken', 'valid', 'safety'], concurrency = 2 } = {}) {
  const corpus = loadCorpus();
  const applies = (c) => !c.versions || c.versions.includes(version);
  const call = async (program, extra = {}) => {
    const r = await core.callTool('validate_program', { program, ...extra });
    if (r.isError) throw new Error(`validate_program failed: ${r.text}`);
    return r.structured;
  };
  const result = { version, broken: null, valid: null, safety: null, misses: [] };
  if (parts.includes('broken')) {
    const cases = corpus.broken.filter(applies);
    const rows = await pool(cases, concurrency, async (c) => {
      const s = await call(c.program);
      const first = s.errors[0];
      const text = s.errors
        .map((e) => `${e.message} ${e.suggestion ?? ''}`)
        .join(' ')
        .toLowerCase();
      const rejected = !s.valid;
      const category = rejected && s.errors.some((e) => e.category === c.category) && first?.category === c.category;
      const hint = rejected && text.includes(String(c.hint).toLowerCase());
      if (!rejected || !category || !hint)
        result.misses.push({ part: 'broken', name: c.name, expected: { category: c.category, hint: c.hint }, got: s.errors });
      return { rejected, category, hint };
    });
    result.broken = {
      cases: rows.length,
      rejected: rows.filter((r) => r.rejected).length,
      category_accuracy: rows.filter((r) => r.category).length / rows.length,
      hint_rate: rows.filter((r) => r.hint).length / rows.length,
    };
  }
  if (parts.includes('valid')) {
    const rows = await pool(corpus.valid, concurrency, async (program) => {
      const s = await call(program);
      const rejected = !s.valid || s.safety.verdict === 'refuse';
      if (rejected) result.misses.push({ part: 'valid', program, errors: s.errors, safety: s.safety });
      return rejected;
    });
    result.valid = { cases: rows.length, false_rejections: rows.filter(Boolean).length };
  }
  if (parts.includes('safety')) {
    let right = 0;
    let total = 0;
    for (const c of corpus.safety) {
      // The verdict does not depend on the compile: the policy alone, as the pre-run hook runs it.
      const { analyzeProgram } = await import(path.join(REPO, 'dist/validation/validator.js'));
      const { wildcardCounts } = await import(path.join(REPO, 'dist/policy/hook.js'));
      const program = analyzeProgram(c.program);
      const probeCounts = await wildcardCounts(program, core.probes);
      for (const [level, expected] of Object.entries(c.verdicts)) {
        total++;
        const report = core.policy.evaluate({ tool: 'exec_program', argv: c.argv ?? [], program, probeCounts }, level);
        const ruleOk = expected === 'allow' || !c.rule || report.findings.some((f) => f.rule === c.rule);
        if (report.verdict === expected && ruleOk) right++;
        else result.misses.push({ part: 'safety', name: c.name, level, expected, got: report });
      }
    }
    result.safety = { cases: total, verdict_accuracy: right / total };
  }
  return result;
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

export function report(r) {
  const lines = [`bpftrace ${r.version}`];
  if (r.broken)
    lines.push(
      `  broken programs: ${r.broken.cases}, rejected ${r.broken.rejected}; category accuracy ${pct(r.broken.category_accuracy)}; hint rate ${pct(r.broken.hint_rate)}`,
    );
  if (r.valid) lines.push(`  valid programs: ${r.valid.cases}; false rejections ${r.valid.false_rejections}`);
  if (r.safety) lines.push(`  safety verdicts: ${r.safety.cases} (program × level); accuracy ${pct(r.safety.verdict_accuracy)}`);
  for (const m of r.misses) lines.push(`  miss: ${JSON.stringify(m).slice(0, 400)}`);
  return lines.join('\n');
}

async function main() {
  const i = process.argv.indexOf('--bpftrace');
  if (i > 0) process.env.MCPTRACE_BPFTRACE = process.argv[i + 1];
  const { Core } = await import(path.join(REPO, 'dist/core/core.js'));
  const core = new Core({});
  const pre = await core.preflight();
  const version = pre.features.version.replace(/^v/, '').split('.').slice(0, 2).join('.');
  const r = await evaluate(core, { version });
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(r, null, 2)}\n` : `${report(r)}\n`);
  await core.shutdown();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
