#!/usr/bin/env node
// Records what one bpftrace binary prints for every program of corpus.yaml,
// in text mode and with `-f json`, as fixtures for exact-output fidelity tests.
//
//   node test/differential/record.mjs [--bpftrace PATH] [--only ID[,ID...]]
//                                     [--corpus FILE] [--out DIR]
//
// Writes DIR/<version>/<id>.{text,json}.{stdout,stderr} and <id>.exit (the
// text run's exit status on the first line and the json run's on the second:
// a number, or `signal SIGNAME`, with ` timeout` appended when the recorder had
// to stop it), where <version> comes from `PATH --version` (0.23.2 for
// "bpftrace v0.23.2"), plus DIR/<version>/_summary.json. DIR defaults to
// test/fixtures/versions. A full run (no --only) first deletes that version's
// old fixtures. Fixtures are raw: the corpus's masks are for the comparison.
//
// Every program runs as `bpftrace -e PROGRAM [ARGS]` (or `-f json -e ...`, plus
// `-d types` from 0.25 on, as mcptrace runs it: the typed program comes first
// on stdout, and the decoder reads it and drops it)
// with execFile-style argv, never a shell, in /tmp, with the environment of
// this process minus every BPFTRACE_* / __BPFTRACE_* variable, plus
// BPFTRACE_PERF_RB_PAGES=1024 and the entry's own `env`.
// Entries run one at a time: the machine has 2 cores, and concurrent programs
// would see each other's activity.
import { spawn, execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

function parseArgs(argv) {
  const opts = { bpftrace: 'bpftrace', corpus: join(here, 'corpus.yaml'), out: join(repo, 'test', 'fixtures', 'versions'), only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--bpftrace') opts.bpftrace = val();
    else if (a === '--corpus') opts.corpus = resolve(val());
    else if (a === '--out') opts.out = resolve(val());
    else if (a === '--only') opts.only = new Set(val().split(',').filter(Boolean));
    else if (a === '-h' || a === '--help') {
      console.log('usage: record.mjs [--bpftrace PATH] [--only ID,...] [--corpus FILE] [--out DIR]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  return opts;
}

const ID_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const KNOWN_KEYS = new Set(['id', 'program', 'mask', 'versions', 'note', 'timeout_ms', 'env', 'args', 'trigger', 'expect_error', 'unordered']);

/** Loads and checks the corpus; throws on the first malformed entry. */
export function loadCorpus(file) {
  const doc = parse(readFileSync(file, 'utf8'));
  const entries = Array.isArray(doc) ? doc : doc?.programs;
  if (!Array.isArray(entries)) throw new Error(`${file}: expected a list of programs (or {programs: [...]})`);
  const seen = new Set();
  for (const [i, e] of entries.entries()) {
    const where = `${file}: entry ${i}${e?.id ? ` (${e.id})` : ''}`;
    if (!e || typeof e !== 'object') throw new Error(`${where}: not a mapping`);
    for (const k of Object.keys(e)) if (!KNOWN_KEYS.has(k)) throw new Error(`${where}: unknown key ${k}`);
    if (typeof e.id !== 'string' || !ID_RE.test(e.id)) throw new Error(`${where}: id must be kebab-case`);
    if (seen.has(e.id)) throw new Error(`${where}: duplicate id`);
    seen.add(e.id);
    if (typeof e.program !== 'string' || !e.program.trim()) throw new Error(`${where}: program must be a non-empty string`);
    for (const m of e.mask ?? []) new RegExp(m, 'gm'); // throws on a bad regex
    if (e.versions && !(Array.isArray(e.versions) && e.versions.every((v) => /^\d+\.\d+$/.test(String(v)))))
      throw new Error(`${where}: versions must be a list like ["0.17", "0.23"]`);
    if (e.unordered && !(Array.isArray(e.unordered) && e.unordered.every((v) => /^\d+\.\d+$/.test(String(v)))))
      throw new Error(`${where}: unordered must be a list of versions like ["0.27"]`);
    if (e.trigger && !(Array.isArray(e.trigger.argv) && e.trigger.argv.every((s) => typeof s === 'string')))
      throw new Error(`${where}: trigger.argv must be a list of strings`);
  }
  return entries;
}

/** "bpftrace v0.23.2" -> "0.23.2" */
async function bpftraceVersion(bin) {
  const { stdout } = await promisify(execFile)(bin, ['--version'], { timeout: 30_000 });
  const m = /v?(\d+\.\d+\.\d+)/.exec(stdout);
  if (!m) throw new Error(`cannot read a version from ${bin} --version: ${JSON.stringify(stdout)}`);
  return m[1];
}

function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(__)?BPFTRACE_/.test(k)) env[k] = v;
  env.BPFTRACE_PERF_RB_PAGES = '1024';
  return env;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one program once. Resolves {stdout, stderr, exit} where exit is the
 * status line written to .exit.
 */
function runOnce(bin, version, entry, json) {
  const [major, minor] = version.split('.').map(Number);
  const types = json && (major > 0 || minor >= 25) ? ['-d', 'types'] : [];
  const argv = [...(json ? ['-f', 'json', ...types] : []), '-e', entry.program, ...(entry.args ?? []).map(String)];
  const env = { ...baseEnv(), ...Object.fromEntries(Object.entries(entry.env ?? {}).map(([k, v]) => [k, String(v)])) };
  const timeoutMs = entry.timeout_ms ?? 10_000;
  return new Promise((resolveRun) => {
    const child = spawn(bin, argv, { cwd: '/tmp', env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    let timedOut = false;
    let done = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGINT'); // runs END and prints the maps
      setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, 5_000).unref();
    }, timeoutMs);
    // A trigger is a command that makes the traced event happen (an exec, a
    // syscall) until the program has exited by itself.
    if (entry.trigger) {
      const { argv: targv, after_ms = 300, every_ms = 150 } = entry.trigger;
      (async () => {
        await sleep(after_ms);
        while (!done) {
          await new Promise((r) => execFile(targv[0], targv.slice(1), { timeout: 5_000 }, () => r()));
          await sleep(every_ms);
        }
      })();
    }
    child.on('error', (e) => {
      done = true;
      clearTimeout(killer);
      resolveRun({ stdout: Buffer.alloc(0), stderr: Buffer.from(String(e)), exit: 'spawn-error' });
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(killer);
      const exit = (code !== null ? String(code) : `signal ${signal}`) + (timedOut ? ' timeout' : '');
      resolveRun({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), exit });
    });
  });
}

function appliesTo(entry, version) {
  if (!entry.versions) return true;
  return entry.versions.some((v) => version === String(v) || version.startsWith(`${v}.`));
}

const FIXTURE_RE = /\.(text|json)\.(stdout|stderr)$|\.exit$/;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const corpus = loadCorpus(opts.corpus);
  const version = await bpftraceVersion(opts.bpftrace);
  const dir = join(opts.out, version);
  mkdirSync(dir, { recursive: true });
  if (!opts.only) for (const f of readdirSync(dir)) if (FIXTURE_RE.test(f)) rmSync(join(dir, f));
  if (opts.only) for (const id of opts.only) if (!corpus.some((e) => e.id === id)) throw new Error(`no entry ${id}`);

  const results = {};
  const t0 = Date.now();
  for (const entry of corpus) {
    if (opts.only && !opts.only.has(entry.id)) continue;
    if (!appliesTo(entry, version)) {
      for (const suffix of ['text.stdout', 'text.stderr', 'json.stdout', 'json.stderr', 'exit']) rmSync(join(dir, `${entry.id}.${suffix}`), { force: true });
      results[entry.id] = 'skipped';
      continue;
    }
    const exits = [];
    for (const mode of ['text', 'json']) {
      const r = await runOnce(opts.bpftrace, version, entry, mode === 'json');
      writeFileSync(join(dir, `${entry.id}.${mode}.stdout`), r.stdout);
      writeFileSync(join(dir, `${entry.id}.${mode}.stderr`), r.stderr);
      exits.push(r.exit);
    }
    writeFileSync(join(dir, `${entry.id}.exit`), `${exits[0]}\n${exits[1]}\n`);
    const ok = exits.every((x) => x === '0');
    let status;
    if (exits.some((x) => x.endsWith('timeout'))) status = 'timeout';
    else if (entry.expect_error) status = ok ? 'unexpected-ok' : 'expected-error';
    else status = ok ? 'ok' : 'failed';
    if (exits[0] !== exits[1] && status !== 'timeout') status += ' (text and json exits differ)';
    results[entry.id] = status;
    if (status !== 'ok' && status !== 'expected-error') process.stderr.write(`  ${entry.id}: ${status} [exit ${exits.join(' / ')}]\n`);
  }

  const counts = {};
  for (const s of Object.values(results)) counts[s] = (counts[s] ?? 0) + 1;
  const summaryFile = join(dir, '_summary.json');
  let previous = {};
  if (opts.only) {
    try {
      previous = JSON.parse(readFileSync(summaryFile, 'utf8')).results ?? {};
    } catch {
      /* none yet */
    }
    const ids = new Set(corpus.map((e) => e.id));
    for (const id of Object.keys(previous)) if (!ids.has(id)) delete previous[id];
  }
  const all = { ...previous, ...results };
  const allCounts = {};
  for (const s of Object.values(all)) allCounts[s] = (allCounts[s] ?? 0) + 1;
  writeFileSync(summaryFile, `${JSON.stringify({ version, bpftrace: opts.bpftrace, counts: allCounts, results: all }, null, 1)}\n`);
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(
    `bpftrace ${version}: ${Object.keys(results).length} entries in ${secs} s: ` +
      Object.entries(counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`record.mjs: ${e.message}`);
    process.exit(1);
  });
}
