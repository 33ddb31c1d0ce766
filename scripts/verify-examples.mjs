// npm run verify:examples — compiles every example in examples/ with each supported bpftrace
// (scripts/examples-lib.mjs VERSIONS) and writes the measured `compiles` map and `runs_here`
// back into its YAML, keeping the file's formatting (yaml Document API). Missing versions are
// reported and left as recorded. `--check` writes nothing and exits 1 when a record is wrong.
// `--only ID[,ID]` limits the run to some examples. `--run` instead runs every runnable example
// for 3 s through mcptrace exec on the host bpftrace (compiling skips the kernel's verifier; loading does not).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  HOST_VERSION,
  ROOT,
  VERSIONS,
  availableVersions,
  cleanup,
  compileProgram,
  loadExamples,
  mapLimit,
  probeExists,
  runBriefly,
  withMeasured,
} from './examples-lib.mjs';

const argv = process.argv.slice(2);
const check = argv.includes('--check');
const onlyArg = argv[argv.indexOf('--only') + 1];
const only = argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined;
// Two at a time: the machine has two cores, and a compile keeps one busy.
const CONCURRENCY = Number(process.env.VERIFY_CONCURRENCY || 2);

if (argv.includes('--run')) process.exit(await runAll());

const versions = availableVersions();
for (const v of VERSIONS) if (!versions.includes(v)) console.error(`warning: bpftrace ${v.version} (${v.bin}) is missing; its column is left as recorded`);

const examples = loadExamples().filter((e) => !only || only.has(e.data?.id));
const started = Date.now();
const jobs = examples.flatMap((e) => versions.map((v) => ({ e, v })));
const results = await mapLimit(jobs, CONCURRENCY, ({ e, v }) => compileProgram(v, String(e.data.program ?? '')));
const compiled = new Map();
jobs.forEach(({ e, v }, i) => {
  const byVersion = compiled.get(e) ?? {};
  byVersion[v.version] = results[i];
  compiled.set(e, byVersion);
});

let wrong = 0;
let changed = 0;
for (const e of examples) {
  const rel = path.relative(ROOT, e.file);
  const byVersion = compiled.get(e);
  const compiles = { ...(e.data.compiles ?? {}) };
  for (const [version, r] of Object.entries(byVersion)) compiles[version] = r.ok;
  const host = byVersion[HOST_VERSION];
  // Run here = the host bpftrace compiles it and every probe it names exists on this kernel.
  let runsHere = false;
  if (host?.ok) {
    const exist = await mapLimit(e.data.probes ?? [], CONCURRENCY, (p) => probeExists(p));
    runsHere = exist.every(Boolean);
  }
  const summary = Object.entries(byVersion)
    .map(([v, r]) => `${v}:${r.ok ? 'ok' : 'FAIL'}`)
    .join(' ');
  console.log(`${rel}  ${summary}  runs_here:${runsHere}`);
  for (const [v, r] of Object.entries(byVersion)) if (!r.ok && r.stderr) console.log(`    ${v}: ${r.stderr.split('\n').slice(0, 3).join('\n        ')}`);

  const recorded = e.data.compiles ?? {};
  const differs = Object.keys(byVersion).some((v) => recorded[v] !== compiles[v]) || e.data.runs_here !== runsHere;
  if (!differs) continue;
  if (check) {
    wrong++;
    console.log(`    recorded ${JSON.stringify(recorded)} runs_here:${e.data.runs_here}, measured ${JSON.stringify(compiles)} runs_here:${runsHere}`);
    continue;
  }
  const ordered = Object.fromEntries(VERSIONS.filter((v) => v.version in compiles).map((v) => [v.version, compiles[v.version]]));
  writeFileSync(e.file, withMeasured(e.text, e.doc, ordered, runsHere));
  changed++;
}
cleanup();
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `${examples.length} examples, ${jobs.length} compiles in ${secs} s (concurrency ${CONCURRENCY}); ${check ? `${wrong} wrong` : `${changed} updated`}`,
);
if (check && wrong) process.exit(1);

/** --run: one at a time, since each run attaches to the live kernel. */
async function runAll() {
  const host = VERSIONS.find((v) => v.version === HOST_VERSION);
  const runnable = loadExamples().filter((e) => (!only || only.has(e.data.id)) && e.data.runs_here && !e.data.requires.includes('target-process'));
  let failed = 0;
  for (const e of runnable) {
    // User stacks take tens of seconds to symbolize at exit on a busy machine (see their notes).
    const r = await runBriefly(host, e.data.program, 3, 120_000);
    if (!r.ok) failed++;
    console.log(`${e.data.id}  ${r.ok ? 'ok' : `FAILED ${r.problem}`}`);
  }
  console.log(`${runnable.length} runnable examples run for 3 s each; ${failed} failed`);
  return failed ? 1 : 0;
}
