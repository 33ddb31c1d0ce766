#!/usr/bin/env node
// The public eval set for "from a question to a working trace" (test/eval/requests.yaml).
//
//   npm run eval:requests                  measure: search_examples top-3, discover_probes top-5
//                                          and their union, dev and heldout apart, per style and
//                                          subsystem, with every miss
//   npm run eval:requests -- --pass1       pass@1 of the retrieval-only path: plan_trace's first
//                                          template (or example) runs around the workload
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
import { TYPE_ALIASES } from '../dist/runtime/probe-cache.js';

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

// bpftrace's short type names, as mcptrace expands them; fentry/fexit are the newer names of
// kfunc/kretfunc, which this kernel's listing still uses.
const ALIASES = { ...TYPE_ALIASES, fentry: 'kfunc', fexit: 'kretfunc' };
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
  const first = await topCandidate(p, 30, core);
  const offered = [
    ...(first ? [{ id: first.id, probes: first.probes }] : []),
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

/**
 * Starts one call of a runnable tool (wait: false), starts the request's workload once the probes
 * are attached, waits `settle`, stops the run (SIGINT: the maps print) and reads every line.
 */
export async function runAround(core, tool, args, req, { timeout = 30 } = {}) {
  const started = await call(core, tool, { ...args, timeout, wait: false });
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
  const why = () =>
    `status ${r.status} exit ${r.exit_code} ${r.error_message ?? ''} ${r.stderr.join(' | ').slice(0, 300)}; workload ${wl ? wl.code : 'not run'} ${wl?.stderr?.slice(0, 200) ?? ''}`;
  return { r, text: lines.join('\n'), why, seconds: (Date.now() - t0) / 1000 };
}

/** Verifies one request: {ok, why, output}. */
export async function verifyOne(core, req, { timeout = 30 } = {}) {
  // kprobes (absent here) or cpufreq (no frequency scaling in this VM): compiled, never run.
  if (req.requires) {
    const s = await call(core, 'validate_program', { program: req.reference });
    return { ok: s.valid, mode: `compiled (requires ${req.requires})`, why: s.valid ? undefined : s.errors.map((e) => e.message).join('; ') };
  }
  const { r, text, why, seconds } = await runAround(core, 'exec_program', { program: req.reference }, req, { timeout });
  const ok = new RegExp(req.check, 'm').test(text) && r.status !== 'failed';
  return { ok, mode: 'ran', why: ok ? undefined : why(), output: text.slice(0, 1500), seconds };
}

// ---------------------------------------------------------------------------------------------
// pass@1 of the retrieval-only path: no model writes anything. plan_trace's first template runs
// with its suggested_input, or, when it offers no template, its first example that runs here runs
// as it is; the workload starts once the probes are attached. It passes when the run did not
// fail, one of its probes is one the request accepts, and it printed an event or a map entry
// while the workload ran ("answers"); `names_workload` also needs the workload's process name in
// the output. A suggested duration is raised to the eval's timeout (the eval stops the run once
// the workload is done), so a 2 s template does not end before a slow workload starts.

/** Lines that are not an answer: banners and headers a tool prints before any event. */
const NOT_AN_EVENT = /^(Attaching \d+ probes?|Tracing |Hit Ctrl-C|Ctrl-C|\s*$|[A-Z][A-Z0-9_ %/()-]+$)/;

/** The candidate the retrieval-only path runs: {kind, id, tool, args, probes} or undefined. */
export async function topCandidate(plan, timeout = 30, core = undefined) {
  // plan_trace names the one to start with, template or example, on one scale. An example
  // whose program the budget trimmed is read from its resource, as a client would.
  const s = plan.start_with;
  const e0 = s?.kind === 'example' ? plan.examples.find((x) => x.id === s.id) : undefined;
  const program = e0?.program ?? (e0 && core ? (await core.knowledge.get(e0.id))?.program : undefined);
  if (e0 && program) return { kind: 'example', id: e0.id, tool: 'exec_program', args: { program }, probes: e0.probes };
  const t = (s?.kind === 'template' && plan.templates.find((x) => x.tool === s.id)) || plan.templates[0];
  if (t) {
    const input = { ...t.suggested_input };
    if ('duration' in input) input.duration = timeout;
    return { kind: 'template', id: `template:${t.tool}`, tool: t.tool, args: input, probes: t.probes };
  }
  const e = plan.examples.find((x) => x.runs_here && x.program);
  if (e) return { kind: 'example', id: e.id, tool: 'exec_program', args: { program: e.program }, probes: e.probes };
  return undefined;
}

export async function passAt1(core, req, { timeout = 30 } = {}) {
  const plan = await call(core, 'plan_trace', { goal: req.request });
  const c = await topCandidate(plan, timeout, core);
  if (!c) return { ok: false, mode: 'nothing to run', why: 'plan_trace offered no template and no example that runs here' };
  const relevant = c.probes.some((p) => probeMatches(req.probes, p));
  if (req.requires) {
    // Only compiled here (kprobes, cpufreq or a journal are missing): a dry run renders and checks it.
    const d = await core.callTool(c.tool, { ...c.args, dry_run: true });
    const ok = !d.isError && relevant;
    return {
      ok,
      names: ok,
      mode: `compiled (requires ${req.requires})`,
      candidate: c.id,
      why: ok ? undefined : d.isError ? d.text.slice(0, 300) : 'no accepted probe',
    };
  }
  const { r, text, why, seconds } = await runAround(core, c.tool, c.args, req, { timeout });
  const events = text.split('\n').filter((l) => !NOT_AN_EVENT.test(l));
  const ran = r.status !== 'failed';
  const ok = ran && relevant && events.length > 0;
  const comm = path.basename(req.workload[0]).slice(0, 15);
  const names = ok && text.includes(comm);
  return {
    ok,
    names,
    mode: 'ran',
    candidate: c.id,
    why: ok
      ? undefined
      : !ran
        ? why()
        : !relevant
          ? `its probes (${c.probes.join(', ')}) are not the ones asked for`
          : 'it printed no event while the workload ran',
    output: text.slice(0, 600),
    seconds,
  };
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
    if (process.argv.includes('--pass1')) {
      const timeout = Number(arg('--timeout') ?? 30);
      const results = [];
      for (const req of requests) {
        let res;
        try {
          res = await passAt1(core, req, { timeout });
        } catch (e) {
          res = { ok: false, why: String(e?.message ?? e) };
        }
        results.push({ id: req.id, split: req.split, style: req.style, ...res });
        if (!json)
          process.stdout.write(
            `${res.ok ? (res.names ? 'ok  ' : 'ok- ') : 'FAIL'} [${req.split}] ${req.id.padEnd(34)} ${res.candidate ?? '-'} ${res.mode ?? ''}${res.ok ? '' : `\n     ${res.why}`}\n`,
          );
      }
      const rate = (rs, k) =>
        `${rs.filter((r) => r[k]).length}/${rs.length} (${rs.length ? ((100 * rs.filter((r) => r[k]).length) / rs.length).toFixed(1) : '-'}%)`;
      const lines = ['', 'pass@1, retrieval only (answers / also names the workload):'];
      for (const split of ['dev', 'heldout']) {
        const rs = results.filter((r) => r.split === split);
        lines.push(`  ${split.padEnd(8)} ${rate(rs, 'ok').padEnd(16)} ${rate(rs, 'names')}`);
        for (const st of STYLES) {
          const ss = rs.filter((r) => r.style === st);
          lines.push(`    ${st.padEnd(8)} ${rate(ss, 'ok').padEnd(16)} ${rate(ss, 'names')}`);
        }
      }
      lines.push(`  ${'all'.padEnd(8)} ${rate(results, 'ok').padEnd(16)} ${rate(results, 'names')}`);
      if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else process.stdout.write(`${lines.join('\n')}\n`);
    } else if (process.argv.includes('--verify')) {
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
