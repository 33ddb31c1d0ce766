#!/usr/bin/env node
// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in package.json)
// against `mcptrace serve --http`, in both protocol eras: 2025-11-25 (initialize handshake) and
// 2026-07-28 (server/discover, per-request _meta). Which scenarios apply, and why the others do
// not, is test/conformance/scenarios.yaml; docs/CONFORMANCE.md explains it.
//
// Usage: npm run test:conformance [-- options]     (needs `npm run build` first)
//   --era 2025-11-25|2026-07-28   one era only (default both)
//   --scenario NAME               one scenario only (still classified by the file)
//   --url URL                     test a server that is already running instead of starting one
//   --server-cmd "CMD"            start this instead of mcptrace; {port} in it is replaced
//   --token TOKEN                 bearer token the runner adds to each request (see below)
//   --keep                        keep the suite's result folders (their path is printed)
//
// The suite talks to an HTTP URL only (it has no stdio mode) and sends no Authorization header,
// while `serve --http` wants a bearer token by default. So the runner creates one (`mcptrace
// token create`) in the throwaway state dir before the server starts and, when the server answers
// 401 without it, puts a loopback proxy in front that adds it to every request and forwards
// everything else, Host and Origin included, unchanged.
//
// Prints one line per era (`conformance ERA: N passed, N failed, N not applicable`) and ends with
// `N passed, N failed` over both; exits 1 when an applicable scenario fails.
import { spawn, execFileSync } from 'node:child_process';
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS_FILE = path.join(REPO, 'test/conformance/scenarios.yaml');
const ERAS = ['2025-11-25', '2026-07-28'];
const MODERN = '2026-07-28';
const SCENARIO_TIMEOUT_MS = 180_000;

const { values: opt } = parseArgs({
  options: {
    era: { type: 'string' },
    scenario: { type: 'string' },
    url: { type: 'string' },
    'server-cmd': { type: 'string' },
    token: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
if (opt.era && !ERAS.includes(opt.era)) die(`--era must be one of ${ERAS.join(', ')}`);

function die(msg) {
  console.error(`conformance: ${msg}`);
  process.exit(2);
}

/** Every process started here (the server, the suite), ended on exit; and what to remove then. */
const children = [];
const cleanups = [];

// --- The suite ------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
let suitePkg;
try {
  suitePkg = require.resolve('@modelcontextprotocol/conformance/package.json');
} catch {
  die('@modelcontextprotocol/conformance is not installed: run npm ci');
}
const SUITE_VERSION = JSON.parse(readFileSync(suitePkg, 'utf8')).version;
const SUITE_BIN = path.join(path.dirname(suitePkg), JSON.parse(readFileSync(suitePkg, 'utf8')).bin.conformance);

/**
 * The suite is built for Node 22: its tier-check command imports fs.globSync, which Node 20 lacks,
 * and ESM refuses to load a module whose named import is missing. On Node 20 a loader hook hands
 * the suite an `fs` that has a globSync that throws; nothing the `server` command runs calls it.
 */
function nodeArgs() {
  if (typeof fs.globSync === 'function') return [];
  const shim = `import fs from 'node:fs'; export * from 'node:fs'; export default fs; export function globSync() { throw new Error('fs.globSync needs Node.js 22'); }`;
  const hooks = `export async function resolve(s, c, next) { if ((s === 'fs' || s === 'node:fs') && c.parentURL && c.parentURL.includes('/@modelcontextprotocol/conformance/')) return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(shim)}), shortCircuit: true }; return next(s, c); }`;
  const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;
  return ['--import', `data:text/javascript,${encodeURIComponent(register)}`];
}
const NODE_ARGS = nodeArgs();

/** Runs the suite's CLI; resolves with its exit code and output (colour codes stripped). */
function suite(args, { timeoutMs = SCENARIO_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_ARGS, SUITE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      resolve({ code: signal ? `killed by ${signal} after ${timeoutMs / 1000} s` : code, out: out.replace(/\x1b\[[0-9;]*m/g, '') });
    });
  });
}

/** The suite's server scenarios for an era. */
let listed;
async function listScenarios(era) {
  listed ??= await suite(['list', '--server']);
  const all = listed;
  if (all.code !== 0) die(`conformance list failed:\n${all.out}`);
  const names = new Map();
  for (const m of all.out.matchAll(/^\s+- (\S+) \[([^\]]*)\]/gm)) names.set(m[1], m[2].split(','));
  if (names.size === 0) die(`conformance list printed no scenarios:\n${all.out}`);
  // Extension scenarios carry no revision tag; the extensions they test (tasks, skills) are
  // 2026-07-28 ones, so they are listed, and judged, under that era.
  return [...names].filter(([, tags]) => tags.includes(era) || (era === MODERN && tags.includes('extension'))).map(([name]) => name);
}

// --- The classification ---------------------------------------------------------------------

const classification = parse(readFileSync(SCENARIOS_FILE, 'utf8')).scenarios;

/** A scenario's entry for one era: the base entry with that era's overrides on top. */
function entryFor(name, era) {
  const base = classification[name];
  if (!base) return undefined;
  const { eras, ...rest } = base;
  return { ...rest, ...(eras?.[era] ?? {}) };
}

// --- The server under test ------------------------------------------------------------------

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  for (const f of cleanups.splice(0)) f();
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** POSTs one JSON-RPC message as a conformant client of `era` would; resolves {status, headers, body}. */
function rpc(url, era, method, params, extraHeaders = {}) {
  const modern = era === MODERN;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method,
    params: modern
      ? {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': era,
            'io.modelcontextprotocol/clientInfo': { name: 'mcptrace-conformance-probe', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        }
      : params,
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(modern ? { 'mcp-protocol-version': era, 'mcp-method': method } : {}),
    ...extraHeaders,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        // A JSON body, or an SSE stream whose data lines carry it.
        const json = res.headers['content-type']?.includes('text/event-stream')
          ? text
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trim())
              .filter(Boolean)
              .pop()
          : text;
        let parsed;
        try {
          parsed = json ? JSON.parse(json) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function waitForServer(url, child, log) {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) die(`the server exited with ${child.exitCode} before it answered:\n${log()}`);
    try {
      const r = await rpc(url, '2025-11-25', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '1' } });
      if (r.status) return r;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  die(`no answer from ${url} within 60 s (${last}):\n${log()}`);
}

async function startServer(proxyPort) {
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-conformance-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const env = { ...process.env, MCPTRACE_STATE_DIR: stateDir, XDG_CONFIG_HOME: path.join(stateDir, 'config'), HOME: stateDir };
  const ours = !opt['server-cmd'];
  if (ours && !existsSync(path.join(REPO, 'dist/mcp/http.js'))) die('dist/mcp/http.js is missing: run npm run build first');
  // mcptrace serve --http wants a token by default; made before the server starts, so it is loaded.
  const token = opt.token ?? (ours ? createToken(env) : undefined);
  // The auth proxy (below) fronts the server on a port of its own, so the page origin the suite
  // sends (its Host, its port) is the proxy's: that origin is the server's own, as it would be
  // behind any reverse proxy, and is allowed as such. Foreign origins still reach the server as sent.
  const cmd =
    opt['server-cmd'] ??
    `node bin/run.js serve --http 127.0.0.1:{port} --no-history --allowed-origin http://localhost:${proxyPort} --allowed-origin http://127.0.0.1:${proxyPort}`;
  const argv = cmd.replaceAll('{port}', String(port)).split(/\s+/).filter(Boolean);
  let log = '';
  const child = spawn(argv[0], argv.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout.on('data', (d) => (log = (log + d).slice(-20_000)));
  child.stderr.on('data', (d) => (log = (log + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForServer(url, child, () => log);
  return { url, token, log: () => log, child };
}

/**
 * A loopback proxy that adds `Authorization: Bearer TOKEN` and passes everything else through
 * byte for byte, headers (Host, Origin) included, responses streamed, so SSE is unchanged.
 */
async function authProxy(target, token, port) {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } },
      (ur) => {
        res.writeHead(ur.statusCode, ur.rawHeaders);
        ur.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  cleanups.push(() => server.close());
  server.unref();
  return `http://127.0.0.1:${port}${t.pathname}`;
}

function createToken(env) {
  // Not a terminal, so the token is alone on stdout (the rest goes to stderr).
  const out = execFileSync(process.execPath, ['bin/run.js', 'token', 'create', 'conformance', '--scopes', 'trace:read,trace:run'], {
    cwd: REPO,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const token = out.trim().split('\n').at(-1)?.trim();
  if (!token) die(`\`mcptrace token create\` printed no token`);
  return token;
}

// --- What the server has, for `requires:` ----------------------------------------------------

async function serverFacts(url) {
  const init = await rpc(url, '2025-11-25', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '1' } });
  const discover = await rpc(url, MODERN, 'server/discover', {}).catch(() => undefined);
  return {
    '2025-11-25': { session: Boolean(init.headers['mcp-session-id']), capabilities: init.body?.result?.capabilities ?? {} },
    [MODERN]: { session: false, capabilities: discover?.body?.result?.capabilities ?? {} },
  };
}

function unmetRequirement(requires, facts) {
  if (!requires) return undefined;
  if (requires === 'session') return facts.session ? undefined : 'the server issues no Mcp-Session-Id';
  const m = /^capability:(.+)$/.exec(requires);
  if (!m) die(`scenarios.yaml: unknown requires "${requires}"`);
  const has = m[1].split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), facts.capabilities);
  return has === undefined || has === false ? `the server declares no ${m[1]} capability` : undefined;
}

// --- One scenario ---------------------------------------------------------------------------

function findChecks(dir) {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) {
      const found = findChecks(p);
      if (found) return found;
    } else if (f === 'checks.json') return p;
  }
  return undefined;
}

const isBad = (c) => c.status === 'FAILURE' || c.status === 'WARNING';
const isNotTestable = (c) => typeof c.errorMessage === 'string' && /^Not testable\b|is not testable against this server/.test(c.errorMessage);

/** Runs one scenario at one era; resolves {verdict: 'passed'|'failed'|'n/a', lines}. */
async function runScenario(url, era, name, entry, outRoot) {
  const out = path.join(outRoot, era, name);
  const r = await suite(['server', '--url', url, '--scenario', name, '--spec-version', era, '-o', out]);
  const file = existsSync(out) ? findChecks(out) : undefined;
  if (!file) return { verdict: 'failed', lines: [`the suite wrote no checks.json (exit ${r.code}):`, ...r.out.trim().split('\n').slice(-30)] };
  const checks = JSON.parse(readFileSync(file, 'utf8'));
  const untestable = entry.untestable ?? {};
  const lines = [];
  let failed = 0;
  for (const c of checks) {
    if (!isBad(c)) continue;
    if (untestable[c.id] && isNotTestable(c)) continue;
    failed++;
    lines.push(`${c.status} ${c.id}: ${c.errorMessage ?? c.description}`);
  }
  // An untestable check that passes means the file is stale; judged once the scenario has no
  // other failure (a server that answers an unknown tool with a result "passes" some of them).
  for (const id of failed ? [] : Object.keys(untestable)) {
    const seen = checks.filter((c) => c.id === id);
    if (seen.length && seen.every((c) => c.status === 'SUCCESS')) {
      failed++;
      lines.push(`STALE ${id}: now passes; remove it from untestable in test/conformance/scenarios.yaml`);
    }
  }
  if (failed) return { verdict: 'failed', lines };
  const excused = checks.filter((c) => isBad(c) && untestable[c.id]).map((c) => c.id);
  if (!checks.some((c) => c.status === 'SUCCESS')) {
    const info = checks.find((c) => c.status === 'INFO' || c.status === 'SKIPPED');
    return {
      verdict: 'n/a',
      lines: [`the suite found nothing to test: ${info?.description ?? 'no checks'}${info?.details?.message ? ` (${info.details.message})` : ''}`],
    };
  }
  const n = checks.filter((c) => c.status === 'SUCCESS').length;
  return {
    verdict: 'passed',
    lines: [`${n} checks passed${excused.length ? `; not testable without the suite's fixtures: ${[...new Set(excused)].join(', ')}` : ''}`],
  };
}

// --- Main -----------------------------------------------------------------------------------

const eras = opt.era ? [opt.era] : ERAS;
const outRoot = mkdtempSync(path.join(tmpdir(), 'mcptrace-conformance-results-'));
if (!opt.keep) cleanups.push(() => rmSync(outRoot, { recursive: true, force: true }));

let url = opt.url;
let server;
const proxyPort = await freePort();
if (!url) {
  server = await startServer(proxyPort);
  url = server.url;
}
// The suite sends no Authorization header: when the server wants one, the proxy adds it.
const token = opt.token ?? server?.token;
if (token) {
  const probe = await rpc(url, '2025-11-25', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '1' } });
  if (probe.status === 401 || opt.token) url = await authProxy(url, token, proxyPort);
}

const facts = await serverFacts(url);
console.log(
  `@modelcontextprotocol/conformance ${SUITE_VERSION} against ${opt.url ?? (opt['server-cmd'] ? opt['server-cmd'] : 'mcptrace serve --http')} (${url})`,
);

let totalPassed = 0;
let totalFailed = 0;
const summaries = [];
for (const era of eras) {
  let names = await listScenarios(era);
  const unclassified = names.filter((n) => !classification[n]);
  if (unclassified.length) die(`scenarios the suite lists for ${era} that test/conformance/scenarios.yaml does not classify: ${unclassified.join(', ')}`);
  if (opt.scenario) {
    if (!names.includes(opt.scenario)) die(`the suite lists no scenario ${opt.scenario} for ${era}`);
    names = [opt.scenario];
  }
  console.log(`\n== ${era} (${names.length} scenarios)`);
  const count = { passed: 0, failed: 0, 'n/a': 0 };
  for (const name of names) {
    const entry = entryFor(name, era);
    const unmet = entry.run ? unmetRequirement(entry.requires, facts[era]) : undefined;
    if (!entry.run || unmet) {
      count['n/a']++;
      console.log(`  -  ${name}: not applicable: ${unmet ? `${unmet}; ` : ''}${entry.why}`);
      continue;
    }
    const res = await runScenario(url, era, name, entry, outRoot);
    count[res.verdict]++;
    const mark = { passed: 'ok', failed: 'FAIL', 'n/a': '-' }[res.verdict];
    console.log(`  ${mark.padEnd(2)} ${name}${res.verdict === 'n/a' ? ': not applicable' : ''}: ${res.lines[0]}`);
    for (const l of res.lines.slice(1)) console.log(`       ${l}`);
    if (server && server.child.exitCode !== null) die(`the server exited (${server.child.exitCode}) during ${name}:\n${server.log()}`);
  }
  totalPassed += count.passed;
  totalFailed += count.failed;
  summaries.push(`conformance ${era}: ${count.passed} passed, ${count.failed} failed, ${count['n/a']} not applicable`);
}

if (opt.keep) console.log(`\nthe suite's results: ${outRoot}`);
console.log('');
for (const s of summaries) console.log(s);
console.log(`${totalPassed} passed, ${totalFailed} failed`);
cleanup();
process.exit(totalFailed ? 1 : 0);
