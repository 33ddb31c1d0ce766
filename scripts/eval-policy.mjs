#!/usr/bin/env node
// The safety policy's evaluation over test/policy/policy-eval.yaml: verdict accuracy at each
// level for the dev and held-out splits apart, false rejections of harmless programs, and
// every miss. Pure: no bpftrace runs (a wildcard's probe count comes from the entry).
// Usage: npm run eval:policy [-- --misses dev|heldout|all] [-- --json]
// (test/policy/policy-eval.test.ts runs the same evaluation and asserts the dev thresholds.)
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EVAL_SET = path.join(REPO, 'test/policy/policy-eval.yaml');
export const LEVELS = ['strict', 'standard', 'permissive'];

export const loadEvalSet = () => parse(readFileSync(EVAL_SET, 'utf8')).entries;

/** The package's policy alone: an empty config home, so no user's file changes the figures. */
export const packageOnlyEnv = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-policy-eval-'));
  return { XDG_CONFIG_HOME: dir, HOME: dir };
};

/**
 * Judges every entry at every level it names. `policy` is a loaded Policy and `analyzeProgram`
 * the validator's (from dist/ for the script, from src/ for the test). A case is right when the
 * verdict matches and, unless it is allow, the expected rule is among the findings.
 */
export function evaluatePolicy(entries, { policy, analyzeProgram }) {
  const figures = {};
  for (const split of ['dev', 'heldout']) figures[split] = Object.fromEntries(LEVELS.map((l) => [l, { cases: 0, right: 0 }]));
  const misses = [];
  const falseRejections = [];
  for (const e of entries) {
    const program = analyzeProgram(e.program);
    const probeCounts = e.probe_counts ? new Map(Object.entries(e.probe_counts)) : undefined;
    for (const level of LEVELS) {
      const expected = e.expect[level];
      if (!expected) continue;
      const report = policy.evaluate({ tool: e.tool ?? 'exec_program', argv: e.argv ?? [], program, probeCounts, input: e.input }, level);
      const ruleOk = expected === 'allow' || !e.rule || report.findings.some((f) => f.rule === e.rule);
      const f = figures[e.split][level];
      f.cases++;
      if (report.verdict === expected && ruleOk) f.right++;
      else
        misses.push({
          name: e.name,
          split: e.split,
          level,
          expected,
          rule: e.rule,
          got: report.verdict,
          findings: report.findings.map((x) => `${x.decision} ${x.rule}`),
        });
      if (e.harmless && report.verdict === 'refuse' && expected !== 'refuse') falseRejections.push({ name: e.name, split: e.split, level });
    }
  }
  for (const split of Object.values(figures)) for (const f of Object.values(split)) f.accuracy = f.cases ? f.right / f.cases : 1;
  return { entries: entries.length, figures, falseRejections, misses };
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

export function report(r, { misses = 'all' } = {}) {
  const lines = [`policy eval: ${r.entries} programs`];
  for (const [split, levels] of Object.entries(r.figures))
    lines.push(`  ${split.padEnd(8)} ${LEVELS.map((l) => `${l} ${pct(levels[l].accuracy)} (${levels[l].right}/${levels[l].cases})`).join(', ')}`);
  lines.push(`  false rejections of harmless programs: ${r.falseRejections.length}`);
  for (const f of r.falseRejections) if (misses === 'all' || misses === f.split) lines.push(`    ${f.name} [${f.split}] at ${f.level}`);
  const shown = r.misses.filter((m) => misses === 'all' || misses === m.split);
  lines.push(`  misses${misses === 'all' ? '' : ` (${misses} only)`}: ${shown.length}`);
  for (const m of shown)
    lines.push(
      `    ${m.name} [${m.split}] ${m.level}: expected ${m.expected}${m.rule ? ` by ${m.rule}` : ''}, got ${m.got} (${m.findings.join(', ') || 'no findings'})`,
    );
  return lines.join('\n');
}

async function main() {
  const { loadPolicy } = await import(path.join(REPO, 'dist/policy/policy.js'));
  const { analyzeProgram } = await import(path.join(REPO, 'dist/validation/validator.js'));
  const policy = loadPolicy({}, packageOnlyEnv());
  const r = evaluatePolicy(loadEvalSet(), { policy, analyzeProgram });
  const i = process.argv.indexOf('--misses');
  const misses = i > 0 ? process.argv[i + 1] : 'all';
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(r, null, 2)}\n` : `${report(r, { misses })}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
