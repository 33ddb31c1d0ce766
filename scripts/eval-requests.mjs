#!/usr/bin/env node
// The public eval set for "from a question to a working trace" (test/eval/requests.yaml).
//
//   npm run eval:requests                  measure: search_examples top-3, discover_probes top-5
//                                          and their union, dev and heldout apart, per style and
//                                          subsystem, with every miss
//   npm run eval:requests -- --verify      run every reference program on this kernel with its
//                                          workload started once the probes are attached, and
//                                          match its `check`; `requires: kprobes` entries are
//                                          only compiled (validate_program)
// Options: --only id,id   --json   --misses (measure: print every miss; default on)
//          --timeout S    (verify: seconds a reference may run, default 30)
//
// Everything goes through the Core API (dist/core/core.js), as the MCP server would call it:
// run `npm run build` first. One program runs at a time (2 shared cores here).
// A new column (plan_trace, generate_program) is one entry in COLUMNS below.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REQUESTS = path.join(REPO, 'test/eval/requests.yaml');
export const STYLES = ['terse', 'symptom', 'question', 'ken'];

export const loadRequests = (file = REQUESTS) => parse(readFileSync(file, 'utf8')).requests;

/** The split rule, fixed before any plan_trace code: the third of ids with the lowest sha1 are held out. */
export function heldoutIds(ids) {
  const ranked = [...ids].sort((a, b) => sha(a).localeCompare(sha(b)) || a.localeCompare(b));
  return new Set(ranked.slice(0, Math.round(ids.length / 3)));
}
const sha = (s) => createHash('sha1').update(s).digest('hex');

// ---------------------------------------------------------------------------------------------
// Probe globs

const ALIASES = {
  t: 'tracepoint',
  k: 'kprobe',
  kr: 'kretprobe',
  u: 'uprobe',
  ur: 'uretprobe',
  U: 'usdt',
  p: 'profile',
  i: 'interval',
  s: 'software',
  h: 'hardware',
  f: 'kfunc',
  fr: 'kretfunc',
  fentry: 'kfunc',
  fexit: 'kretfunc',
  rawtracepoint: 'rawtracepoint',
};
/** A probe spec with its type spelled in full (t: → tracepoint:, fentry: → kfunc:). */
export function normalizeProbe(spec) {
  const s = String(spec).trim();
  const i = s.indexOf(':');
  if (i < 0) return s;
  const type = s.slice(0, i);
  return `${ALIASES[type] ?? type}${s.slice(i)}`;
}
const globRe = (glob) =>
  new RegExp(
    `^${normalizeProbe(glob)
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
const WILD = /[*?]/;

/**
 * Whether an offered probe (an example's probe or a discovered one) is one the request accepts.
 * An offered wildcard (tracepoint:syscalls:sys_enter_*) counts when it covers an accepted probe.
 */
export function probeMatches(wanted, offered) {
  const o = normalizeProbe(offered);
  return wanted.some((w) =>
    // "=GLOB": only a program attached to that very wildcard counts (=tracepoint:syscalls:sys_enter_*
    // accepts an example tracing every syscall, not any single syscall's probe).
    w.startsWith('=') ? normalizeProbe(w.slice(1)) === o : globRe(w).test(o) || (WILD.test(o) && globRe(o).test(normalizeProbe(w).replace(/[*?]/g, ''))),
  );
}

/** A probe glob as the set accepts it: type:rest, a known type, no spaces. */
export const PROBE_GLOB =
  /^=?(tracepoint|kprobe|kretprobe|uprobe|uretprobe|usdt|profile|interval|software|hardware|kfunc|kretfunc|rawtracepoint|BEGIN|END):[^\s]+$/;

// ---------------------------------------------------------------------------------------------
// Measure: one function per column. Each takes (core, request) and answers {hit, got}.

async function call(core, tool, args) {
  const r = await core.callTool(tool, args);
  if (r.isError) throw new Error(`${tool} failed: ${r.text}`);
  return r.structured;
}

/** search_examples, top 3: an example whose probes include an accepted one. */
export async function searchColumn(core, req) {
  const s = await call(core, 'search_examples', { query: req.request, limit: 3 });
  const got = s.results.map((r) => ({ id: r.id, probes: r.probes, hit: r.probes.some((p) => probeMatches(req.probes, p)) }));
  return { hit: got.some((g) => g.hit), rank: got.findIndex((g) => g.hit), got: got.map((g) => g.id) };
}

/** discover_probes, top 5 (and the top 3 of the same answer, for the union). */
export async function discoverColumn(core, req) {
  const s = await call(core, 'discover_probes', { goal: req.request, limit: 5 });
  const probes = s.groups.flatMap((g) => g.probes).sort((a, b) => b.score - a.score);
  const got = probes.map((p) => p.probe);
  const rank = got.findIndex((p) => probeMatches(req.probes, p));
  return { hit: rank >= 0, rank, got };
}

/**
 * plan_trace, at its default budget: a hit when one of its first 3 templates, first 3 examples
 * or first 3 probes is one the request accepts (what an assistant reads first).
 */
export async function planColumn(core, req) {
  const p = await call(core, 'plan_trace', { goal: req.request });
  const offered = [
    ...p.templates.slice(0, 3).map((t) => ({ id: `template:${t.tool}`, probes: t.probes })),
    ...p.examples.slice(0, 3).map((e) => ({ id: e.id, probes: e.probes })),
    ...p.probes.slice(0, 3).map((x) => ({ id: x.probe, probes: [x.probe] })),
  ];
  const got = offered.map((o) => ({ ...o, hit: o.probes.some((pr) => probeMatches(req.probes, pr)) }));
  return { hit: got.some((g) => g.hit), rank: got.findIndex((g) => g.hit), got: got.map((g) => g.id), tokens: p.budget.used };
}

/** The columns measured, in order. */
export const COLUMNS = [
  { name: 'search@3', run: searchColumn },
  { name: 'discover@5', run: discoverColumn },
  { name: 'plan@3', run: planColumn },
];

/** Derived columns: computed from the others for each row. */
export const DERIVED = [
  // "A relevant example or probe in the top 3": search top 3, or discover top 3.
  { name: 'union@3', needs: ['search@3', 'discover@5'], of: (c) => c['search@3'].hit || (c['discover@5'].rank >= 0 && c['discover@5'].rank < 3) },
  { name: 'union@3+5', needs: ['search@3', 'discover@5'], of: (c) => c['search@3'].hit || c['discover@5'].hit },
];

export async function measure(core, requests, columns = COLUMNS) {
  const rows = [];
  for (const req of requests) {
    const cols = {};
    for (const c of columns) cols[c.name] = await c.run(core, req);
    for (const d of DERIVED) if (d.needs.every((n) => cols[n])) cols[d.name] = { hit: d.of(cols) };
    rows.push({ req, cols });
  }
  return rows;
}

const pct = (rows, name) => (rows.length ? `${((100 * rows.filter((r) => r.cols[name]?.hit).length) / rows.length).toFixed(1)}%`.padStart(6) : '     -');

export function measureReport(rows, names) {
  const out = [];
  const head = (label) => `${label.padEnd(26)} ${'n'.padStart(4)}  ${names.map((n) => n.padStart(10)).join(' ')}`;
  const line = (label, rs) => `${label.padEnd(26)} ${String(rs.length).padStart(4)}  ${names.map((n) => pct(rs, n).padStart(10)).join(' ')}`;
  for (const split of ['dev', 'heldout']) {
    const rs = rows.filter((r) => r.req.split === split);
    out.push('', head(`== ${split}`), line('all', rs));
    for (const st of STYLES)
      out.push(
        line(
          `  style ${st}`,
          rs.filter((r) => r.req.style === st),
        ),
      );
    for (const sub of [...new Set(rows.map((r) => r.req.subsystem))].sort())
      out.push(
        line(
          `  ${sub}`,
          rs.filter((r) => r.req.subsystem === sub),
        ),
      );
  }
  out.push('', head('== all'), line('all', rows));
  return out.join('\n');
}

export function missReport(rows) {
  const out = ['', 'misses (no relevant example in search top 3 and no relevant probe in discover top 5):'];
  for (const r of rows.filter((x) => !x.cols['search@3'].hit && !x.cols['discover@5'].hit))
    out.push(
      `  [${r.req.split}/${r.req.style}/${r.req.subsystem}] ${r.req.id}: "${r.req.request}"`,
      `      wants ${r.req.probes.join(' | ')}`,
      `      search ${r.cols['search@3'].got.join(', ')}`,
      `      discover ${r.cols['discover@5'].got.join(', ')}`,
    );
  out.push('', 'search misses only (discover found it):');
  for (const r of rows.filter((x) => !x.cols['search@3'].hit && x.cols['discover@5'].hit))
    out.push(`  [${r.req.split}] ${r.req.id}: search gave ${r.cols['search@3'].got.join(', ')}`);
  out.push('', 'discover misses only (search found it):');
  for (const r of rows.filter((x) => x.cols['search@3'].hit && !x.cols['discover@5'].hit))
    out.push(`  [${r.req.split}] ${r.req.id}: discover gave ${r.cols['discover@5'].got.join(', ')}`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Verify: every reference program shows its event while its workload runs.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a workload argv (no shell) from the repo root; resolves with its exit and output. */
export function runWorkload(argv, timeoutMs = 20_000) {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { cwd: REPO, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? err.signal ?? 'error') : 0, stdout, stderr }),
    );
  });
}

/** Verifies one request: {ok, why, output}. */
export async function verifyOne(core, req, { timeout = 30 } = {}) {
  // kprobes (absent here) or cpufreq (no frequency scaling in this VM): compiled, never run.
  if (req.requires) {
    const s = await call(core, 'validate_program', { program: req.reference });
    return { ok: s.valid, mode: `compiled (requires ${req.requires})`, why: s.valid ? undefined : s.errors.map((e) => e.message).join('; ') };
  }
  const started = await call(core, 'exec_program', { program: req.reference, timeout, wait: false });
  const id = started.execution_id;
  let r = started;
  let wl;
  const t0 = Date.now();
  try {
    // Wait for the probes to be live (the attach marker), or for the run to end (a compile error).
    while (['queued', 'running'].includes(r.status) && r.attached_probes == null && Date.now() - t0 < timeout * 1000) {
      await sleep(100);
      r = await call(core, 'get_result', { execution_id: id, limit: 1 });
    }
    if (['queued', 'running'].includes(r.status)) {
      wl = await runWorkload(req.workload);
      await sleep((req.settle ?? 1) * 1000);
    }
  } finally {
    r = await call(core, 'get_result', { execution_id: id, limit: 1 });
    if (['queued', 'running'].includes(r.status)) await call(core, 'stop_execution', { execution_id: id, wait: 120 });
  }
  // Every line, page by page: a busy program prints more than one page.
  const lines = [];
  r = await call(core, 'get_result', { execution_id: id, wait: 120, limit: 10000, include_maps: true });
  lines.push(...r.output);
  while (r.has_more && r.next_offset != null) {
    r = await call(core, 'get_result', { execution_id: id, offset: r.next_offset, limit: 10000, include_maps: true });
    lines.push(...r.output);
  }
  r.output = lines;
  const text = r.output.join('\n');
  const re = new RegExp(req.check, 'm');
  const ok = re.test(text) && r.status !== 'failed';
  const why = ok
    ? undefined
    : `status ${r.status} exit ${r.exit_code} ${r.error_message ?? ''} ${r.stderr.join(' | ').slice(0, 300)}; workload ${wl ? wl.code : 'not run'} ${wl?.stderr?.slice(0, 200) ?? ''}`;
  return { ok, mode: 'ran', why, output: text.slice(0, 1500), seconds: (Date.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);

async function main() {
  // Reference programs include user-space uprobes (readline, malloc) that the default policy
  // limits; whether they run is the question here, as in verify-examples --run.
  process.env.MCPTRACE_SAFETY_LEVEL ??= 'permissive';
  const { Core } = await import(path.join(REPO, 'dist/core/core.js'));
  const core = new Core({});
  let requests = loadRequests();
  const only = arg('--only');
  if (only) requests = requests.filter((r) => only.split(',').includes(r.id));
  const json = process.argv.includes('--json');
  try {
    if (process.argv.includes('--verify')) {
      const timeout = Number(arg('--timeout') ?? 30);
      const results = [];
      for (const req of requests) {
        const t = Date.now();
        let res;
        try {
          res = await verifyOne(core, req, { timeout });
        } catch (e) {
          res = { ok: false, why: String(e?.message ?? e) };
        }
        results.push({ id: req.id, ...res });
        if (!json)
          process.stdout.write(
            `${res.ok ? 'ok  ' : 'FAIL'} ${req.id.padEnd(34)} ${res.mode ?? ''} ${((Date.now() - t) / 1000).toFixed(1)}s${res.ok ? '' : `\n     ${res.why}\n     output: ${(res.output ?? '').split('\n').slice(0, 6).join(' / ').slice(0, 400)}`}\n`,
          );
      }
      const ran = results.filter((r) => r.mode === 'ran');
      const compiled = results.filter((r) => r.mode?.startsWith('compiled'));
      const summary = {
        total: results.length,
        passed: results.filter((r) => r.ok).length,
        ran: ran.length,
        ran_ok: ran.filter((r) => r.ok).length,
        compiled_only: compiled.length,
        compiled_ok: compiled.filter((r) => r.ok).length,
        failed: results.filter((r) => !r.ok).map((r) => r.id),
      };
      if (json) process.stdout.write(`${JSON.stringify({ summary, results }, null, 2)}\n`);
      else
        process.stdout.write(
          `\nverify: ${summary.passed}/${summary.total} passed (ran ${summary.ran_ok}/${summary.ran}, compiled only ${summary.compiled_ok}/${summary.compiled_only})\n`,
        );
      process.exitCode = summary.passed === summary.total ? 0 : 1;
    } else {
      const rows = await measure(core, requests);
      const names = [...COLUMNS.map((c) => c.name), ...DERIVED.map((d) => d.name)];
      if (json)
        process.stdout.write(
          `${JSON.stringify(
            rows.map((r) => ({ id: r.req.id, split: r.req.split, style: r.req.style, subsystem: r.req.subsystem, ...r.cols })),
            null,
            2,
          )}\n`,
        );
      else {
        process.stdout.write(`requests: ${rows.length} (${path.relative(REPO, REQUESTS)})\n`);
        process.stdout.write(`${measureReport(rows, names)}\n`);
        if (!process.argv.includes('--no-misses')) process.stdout.write(`${missReport(rows)}\n`);
      }
    }
  } finally {
    await core.shutdown();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
