#!/usr/bin/env node
// mcptrace benchmarks: every figure is mcptrace against bpftrace run directly, side by side in
// the same run, alternating A B A B so that drift on a shared machine cancels out.
// Usage: npm run bench [-- --smoke] [-- --only NAME]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const SMOKE = process.argv.includes('--smoke');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const RUNS = SMOKE ? 2 : 7;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`${m}\n`);

// ---------- helpers ----------

function buildGenerator() {
  const out = path.join(REPO, 'bench/.build/tpgen');
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('cc', ['-O2', '-o', out, path.join(HERE, 'load/tpgen.c')]);
  return out;
}
const TPGEN = buildGenerator();

/** Runs the generator to completion; resolves with its own report. */
function generate(count, rate) {
  return new Promise((resolve, reject) => {
    const child = spawn(TPGEN, [String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`tpgen exited ${code}`))));
  });
}

/** Every server of a bench run records its runs in a history of its own, never the user's. */
const STATE_DIR = path.join(os.tmpdir(), `mcptrace-bench-state-${process.pid}`);

async function startServer(args = []) {
  const history = args.includes('--no-history') ? [] : ['--state-dir', STATE_DIR];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(REPO, 'bin/run.js'), 'serve', ...history, ...args],
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  const call = async (name, args, opts) => {
    const r = await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 600_000, ...opts });
    return r.structuredContent ?? { text: r.content?.[0]?.text };
  };
  return { client, transport, call, close: () => client.close() };
}

/** Spawns bpftrace directly, as a user would from Node. */
function direct(args, { env = {}, stdout = 'pipe', onLine, onStderr } = {}) {
  const child = spawn('bpftrace', args, { stdio: ['ignore', stdout, 'pipe'], env: { ...process.env, ...env } });
  let lines = 0;
  let events = 0;
  let rest = '';
  if (child.stdout) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      for (const p of parts) {
        lines++;
        // One event line: a number in text mode (negative too: %d prints nsecs as 32 bits there),
        // a printf record in JSON mode.
        if (/^-?\d+$/.test(p) || p.startsWith('{"type": "printf"')) events++;
        onLine?.(p);
      }
    });
  }
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => onStderr?.(d));
  // 'close', not 'exit': the run is over when its output has been read, as for mcptrace.
  const exited = new Promise((r) => child.on('close', () => r()));
  return { child, exited, lines: () => lines, events: () => events };
}

function waitAttachedDirect(env = {}) {
  let attached;
  const ready = new Promise((r) => (attached = r));
  return {
    env: { ...env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1' },
    onStderr: (d) => d.includes('__BPFTRACE_NOTIFY_PROBES_ATTACHED') && attached(),
    ready,
  };
}

/**
 * Lines bpftrace prints around the events of PROG_EVENT when none fire (its attach line, the
 * blank lines at exit: as many as the version prints), measured once per server so that the
 * event count is exact on every bpftrace.
 */
const framing = new WeakMap();
async function framingLines(s) {
  if (!framing.has(s)) {
    const started = await s.call('exec_program', { program: PROG_EVENT, timeout: 300 });
    await waitAttachedMcp(s, started.execution_id);
    const v = await s.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
    framing.set(s, v.lines_total);
  }
  return framing.get(s);
}

async function waitAttachedMcp(s, id) {
  for (let i = 0; i < 1000; i++) {
    const r = await s.call('get_result', { execution_id: id, limit: 1 });
    if (r.phase?.startsWith('attached')) return;
    if (!['queued', 'running'].includes(r.status)) throw new Error(`run ended before attaching: ${r.error_message}`);
    await sleep(10);
  }
  throw new Error('never attached');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

/** Warm-up, then RUNS alternating pairs. */
async function abab(a, b, runs = RUNS) {
  await a();
  await b();
  const A = [];
  const B = [];
  for (let i = 0; i < runs; i++) {
    A.push(await a());
    B.push(await b());
  }
  return { mcptrace: stat(A), direct: stat(B) };
}

/**
 * Milliseconds from spawning a server to its tools/list answer, as the SDK client returns it:
 * that includes the client's own work on the answer (Zod, and compiling every outputSchema into
 * a validator), which grows with the tools listed and which no server can avoid. When the
 * answer's line arrived is kept apart in `arrivals` (the server's part alone).
 */
async function spawnToList(args, env = {}, arrivals = []) {
  const t0 = now();
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'ignore', env: { ...process.env, ...env } });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  const onmessage = transport.onmessage;
  transport.onmessage = (m, extra) => {
    if (m.result?.tools) arrivals.push(now() - t0);
    onmessage?.(m, extra);
  };
  const { tools } = await client.listTools();
  const t = now() - t0;
  await client.close();
  if (!tools.length) throw new Error('no tools');
  return t;
}

const results = [];
function record(metric, unit, r, target, ok, note = '') {
  const ratio = r.direct.median ? r.mcptrace.median / r.direct.median : NaN;
  results.push({ metric, unit, mcptrace: r.mcptrace, direct: r.direct, ratio, target, ok, note });
  log(
    `  ${metric}: mcptrace ${fmt(r.mcptrace.median)} ${unit}, direct ${fmt(r.direct.median)} ${unit}, ratio ${ratio.toFixed(2)} -> ${ok ? 'meets' : 'MISSES'} ${target}`,
  );
}
const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));

const PROG_EVENT = 'tracepoint:syscalls:sys_enter_getppid /comm == "tpgen"/ { printf("%d\\n", nsecs); }';

// ---------- scenarios ----------

const scenarios = {
  async exec_round_trip(s) {
    const HI = 'BEGIN { printf("hi\\n"); exit(); }';
    const r = await abab(
      async () => {
        const t0 = now();
        const v = await s.call('exec_program', { program: HI, wait: true });
        if (!v.output?.includes('hi')) throw new Error(`unexpected: ${JSON.stringify(v)}`);
        return now() - t0;
      },
      async () => {
        const t0 = now();
        const d = direct(['-e', HI]);
        await d.exited;
        return now() - t0;
      },
      SMOKE ? RUNS : 15,
    );
    const added = r.mcptrace.median - r.direct.median;
    record('exec round trip (BEGIN printf exit)', 'ms', r, 'adds < 5 ms', added < 5, `adds ${added.toFixed(1)} ms`);
  },

  async http_round_trip(s) {
    // The same call over Streamable HTTP, as a team's client makes it: a 2026-07-28 SDK client
    // with a bearer token against `serve --http` on loopback; stdio and bpftrace alone alternate
    // with it, so the row says what HTTP adds to the stdio round trip.
    const { Client: HttpClient, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
    const HI = 'BEGIN { printf("hi\\n"); exit(); }';
    const stateDir = path.join(STATE_DIR, 'http');
    mkdirSync(stateDir, { recursive: true });
    const env = { ...process.env, MCPTRACE_STATE_DIR: stateDir };
    const bin = path.join(REPO, 'bin/run.js');
    const token = execFileSync(process.execPath, [bin, 'token', 'create', 'bench'], { env }).toString().trim();
    const server = spawn(process.execPath, [bin, 'serve', '--http', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const url = await new Promise((resolve, reject) => {
        let err = '';
        server.stderr.on('data', (d) => {
          err += d;
          const m = / at (http:\/\/\S+\/mcp)/.exec(err);
          if (m) resolve(m[1]);
        });
        server.on('exit', (code) => reject(new Error(`serve --http exited ${code}: ${err}`)));
      });
      const client = new HttpClient({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      const overHttp = async () => {
        const t0 = now();
        const r = await client.callTool({ name: 'exec_program', arguments: { program: HI, wait: true } }, { timeout: 600_000 });
        if (!r.structuredContent?.output?.includes('hi')) throw new Error(`unexpected: ${JSON.stringify(r)}`);
        return now() - t0;
      };
      const overStdio = async () => {
        const t0 = now();
        await s.call('exec_program', { program: HI, wait: true });
        return now() - t0;
      };
      const alone = async () => {
        const t0 = now();
        await direct(['-e', HI]).exited;
        return now() - t0;
      };
      await overHttp();
      await overStdio();
      await alone();
      const [H, S, D] = [[], [], []];
      for (let i = 0; i < (SMOKE ? RUNS : 15); i++) {
        H.push(await overHttp());
        S.push(await overStdio());
        D.push(await alone());
      }
      await client.close();
      const overStdioMs = median(H) - median(S);
      record(
        'exec round trip over HTTP (2026-07-28 client, bearer token)',
        'ms',
        { mcptrace: stat(H), direct: stat(D) },
        'adds < 5 ms to stdio',
        overStdioMs < 5,
        `stdio ${fmt(median(S))} ms in the same run: HTTP adds ${overStdioMs.toFixed(1)} ms`,
      );
    } finally {
      server.kill('SIGTERM');
    }
  },

  async time_to_first_event(s) {
    // A background generator fires the tracepoint every 0.2 ms, so the first event follows the
    // attach at once; both sides measure call/spawn -> first line. Attach times vary a lot
    // (50-115 ms seen), so this takes more runs than the others.
    const gen = spawn(TPGEN, ['1000000000', '5000'], { stdio: 'ignore' });
    await sleep(100);
    const prog = PROG_EVENT.replace('printf("%d\\n", nsecs);', 'printf("first\\n"); exit();');
    try {
      const r = await abab(
        async () => {
          const t0 = now();
          let t1;
          await s.call(
            'exec_program',
            { program: prog, wait: true },
            {
              onprogress: (p) => {
                if (t1 === undefined && /: [1-9]\d* lines/.test(p.message ?? '')) t1 = now();
              },
            },
          );
          if (t1 === undefined) throw new Error('no progress notification with a line');
          return t1 - t0;
        },
        async () => {
          const t0 = now();
          let t1;
          const d = direct(['-e', prog], { onLine: (l) => l === 'first' && t1 === undefined && (t1 = now()) });
          await d.exited;
          return t1 - t0;
        },
        SMOKE ? RUNS : 21,
      );
      const added = r.mcptrace.median - r.direct.median;
      record('time to first event', 'ms', r, 'adds < 5 ms', added < 5, `adds ${added.toFixed(1)} ms`);
    } finally {
      gen.kill('SIGKILL');
    }
  },

  async throughput(s) {
    const count = SMOKE ? 50_000 : 300_000;
    for (const rate of [75_000, 100_000]) {
      for (const mode of ['text', 'json']) {
        const mcpRun = async () => {
          const started = await s.call('exec_program', { program: PROG_EVENT, timeout: 300 });
          await waitAttachedMcp(s, started.execution_id);
          await generate(count, rate);
          const v = await s.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
          return { received: v.lines_total + v.dropped.lines - (await framingLines(s)), reported: v.lost_events };
        };
        const directRun = async () => {
          const w = waitAttachedDirect();
          let reported = 0;
          const d = direct(mode === 'json' ? ['-f', 'json', '-e', PROG_EVENT] : ['-e', PROG_EVENT], {
            env: w.env,
            onStderr: (x) => {
              w.onStderr(x);
              for (const m of x.matchAll(/Lost (\d+) events/g)) reported += Number(m[1]);
            },
            // JSON mode reports loss as a record; text mode prints "Lost N events" on stdout.
            onLine: (l) => {
              if (l.includes('"lost_events"')) reported += JSON.parse(l).data.events;
              const m = /^Lost (\d+) events/.exec(l);
              if (m) reported += Number(m[1]);
            },
          });
          await w.ready;
          await generate(count, rate);
          d.child.kill('SIGINT');
          await d.exited;
          return { received: d.events(), reported };
        };
        const m = [];
        const dd = [];
        for (let i = 0; i < (SMOKE ? 1 : 3); i++) {
          m.push(await mcpRun());
          dd.push(await directRun());
        }
        const r = { mcptrace: stat(m.map((x) => count - x.received)), direct: stat(dd.map((x) => count - x.received)) };
        const delivered = median(m.map((x) => x.received)) / Math.max(1, median(dd.map((x) => x.received)));
        results.push({
          metric: `lost events at ${rate / 1000}k/s (direct ${mode} mode)`,
          unit: 'events',
          mcptrace: r.mcptrace,
          direct: r.direct,
          ratio: delivered,
          target: '0 lost, delivered 1.00x direct',
          ok: r.mcptrace.max === 0 && delivered >= 0.995,
          note: `of ${count}; delivered ${delivered.toFixed(3)}x direct; bpftrace-reported lost: mcptrace ${median(m.map((x) => x.reported))}, direct ${median(dd.map((x) => x.reported))}`,
        });
        log(`  throughput ${rate}/s ${mode}: mcptrace lost ${r.mcptrace.median}, direct lost ${r.direct.median}, delivered ${delivered.toFixed(3)}x`);
      }
    }
  },

  async overload(s) {
    // Two generators at full speed: far more events than bpftrace can format, so both sides
    // lose events; the rate is lines delivered per second, from the generators' start until
    // all output is in (mcptrace: stop_execution returned; direct: bpftrace closed its file).
    const perGen = SMOKE ? 100_000 : 500_000;
    const gens = () => Promise.all([generate(perGen, 0), generate(perGen, 0)]);
    const mcp = [];
    const devnull = [];
    await framingLines(s); // measured before any timing starts
    for (let i = 0; i < (SMOKE ? 1 : 3); i++) {
      const started = await s.call('exec_program', { program: PROG_EVENT, timeout: 300 });
      await waitAttachedMcp(s, started.execution_id);
      let t0 = now();
      await gens();
      const v = await s.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
      const received = v.lines_total + v.dropped.lines - (await framingLines(s));
      mcp.push({ rate: received / ((now() - t0) / 1000), lost: 2 * perGen - received, reported: v.lost_events });

      const file = path.join(os.tmpdir(), `mcptrace-bench-${process.pid}.out`);
      const fd = openSync(file, 'w');
      const w = waitAttachedDirect();
      let reported = 0;
      const d = direct(['-e', PROG_EVENT], { env: w.env, stdout: fd, onStderr: w.onStderr });
      await w.ready;
      t0 = now();
      await gens();
      d.child.kill('SIGINT');
      await d.exited;
      const secs = (now() - t0) / 1000;
      closeSync(fd);
      const out = readFileSync(file, 'utf8').split('\n');
      rmSync(file);
      for (const l of out) {
        const m = /^Lost (\d+) events/.exec(l);
        if (m) reported += Number(m[1]);
      }
      const lines = out.filter((l) => /^-?\d+$/.test(l)).length;
      devnull.push({ rate: lines / secs, lost: 2 * perGen - lines, reported });
    }
    const r = { mcptrace: stat(mcp.map((x) => x.rate)), direct: stat(devnull.map((x) => x.rate)) };
    const ratio = r.mcptrace.median / r.direct.median;
    results.push({
      metric: 'overload: 2 generators at full speed, delivered lines/s (direct: bpftrace writing to a file)',
      unit: 'lines/s',
      ...r,
      ratio,
      target: '>= 0.6x direct',
      ok: ratio >= 0.6,
      note: `real loss of ${2 * perGen}: mcptrace ${median(mcp.map((x) => x.lost))} (bpftrace said ${median(mcp.map((x) => x.reported))}), direct ${median(devnull.map((x) => x.lost))} (bpftrace said ${median(devnull.map((x) => x.reported))}); line buffering (-B line) kept on purpose for live output`,
    });
    log(`  overload: mcptrace ${r.mcptrace.median.toFixed(0)}/s, direct-to-file ${r.direct.median.toFixed(0)}/s`);
  },

  async stop_big_map(s) {
    const keys = 10_000;
    const prog = `BEGIN { $i = 0; while ($i < ${keys}) { @m[$i] = $i; $i++; } printf("ready\\n"); }`;
    const mapLines = (lines) => lines.filter((l) => l.startsWith('@m[')).length;
    let lastMcpKeys = 0;
    let lastDirectKeys = 0;
    const r = await abab(
      async () => {
        const started = await s.call('exec_program', { program: prog, timeout: 300 });
        await s.call('get_result', { execution_id: started.execution_id, offset: 0, wait: 30 });
        await waitAttachedMcp(s, started.execution_id);
        const t0 = now();
        await s.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
        // The map follows bpftrace's attach line, "ready" and the exit's blank lines: two pages.
        const page = await s.call('get_result', { execution_id: started.execution_id, offset: 0, limit: 10_000 });
        const rest = page.has_more
          ? await s.call('get_result', { execution_id: started.execution_id, offset: page.next_offset, limit: 10_000 })
          : { output: [] };
        const t = now() - t0;
        lastMcpKeys = mapLines(page.output) + mapLines(rest.output);
        return t;
      },
      async () => {
        const seen = [];
        let ready;
        const isReady = new Promise((res) => (ready = res));
        const d = direct(['-e', prog], { env: { BPFTRACE_MAP_KEYS_MAX: '65536' }, onLine: (l) => (l === 'ready' ? ready() : seen.push(l)) });
        await isReady;
        await sleep(50);
        const t0 = now();
        d.child.kill('SIGINT');
        await d.exited;
        const t = now() - t0;
        lastDirectKeys = mapLines(seen);
        return t;
      },
    );
    // bpftrace's default BPFTRACE_MAP_KEYS_MAX drops keys without a word; show it.
    const dropped = [];
    const d = direct(['-e', prog], { onLine: (l) => dropped.push(l) });
    await new Promise((res) => setTimeout(res, 1500));
    d.child.kill('SIGINT');
    await d.exited;
    const ratio = r.mcptrace.median / r.direct.median;
    record(
      'stop with a 10k-key map, until the full map is read',
      'ms',
      r,
      '<= 1.1x direct',
      ratio <= 1.1,
      `keys returned: mcptrace ${lastMcpKeys}, direct ${lastDirectKeys}; bpftrace with its default BPFTRACE_MAP_KEYS_MAX prints ${mapLines(dropped)} of ${keys}`,
    );
  },

  async server_startup() {
    // The default toolsets (what a client sees unless told otherwise), then every tool listed.
    for (const [label, env] of [
      ['default toolsets', {}],
      ['MCPTRACE_TOOLSETS=all', { MCPTRACE_TOOLSETS: 'all' }],
    ]) {
      const arrived = { mcptrace: [], direct: [] };
      const r = await abab(
        () => spawnToList([path.join(REPO, 'bin/run.js'), 'serve'], env, arrived.mcptrace),
        () => spawnToList([path.join(HERE, 'minimal-server.js')], {}, arrived.direct),
      );
      // The warm-up pair's arrivals are not in `r`.
      const answer = { mcptrace: median(arrived.mcptrace.slice(1)), direct: median(arrived.direct.slice(1)) };
      const ratio = r.mcptrace.median / r.direct.median;
      record(
        `server start-up, ${label}: spawn to tools/list returned by the SDK client (direct: minimal 1-tool SDK server)`,
        'ms',
        r,
        '<= 1.5x',
        ratio <= 1.5,
        `answer arrived at ${fmt(answer.mcptrace)} ms vs ${fmt(answer.direct)} ms (${(answer.mcptrace / answer.direct).toFixed(2)}x); the rest is the client's work on the list (Zod, compiling each outputSchema)`,
      );
    }
  },

  async tool_latency(s) {
    const filter = 'tracepoint:syscalls:sys_enter_open*';
    const N = SMOKE ? 5 : 21;
    await s.call('list_probes', { filter });
    await s.call('bpf_info', {});
    const pairs = [
      ['list_probes (cached) vs bpftrace -l FILTER', () => s.call('list_probes', { filter }), ['-l', filter]],
      ['bpf_info (cached) vs bpftrace --info', () => s.call('bpf_info', {}), ['--info']],
    ];
    for (const [metric, mcpCall, args] of pairs) {
      const r = await abab(
        async () => {
          const t0 = now();
          await mcpCall();
          return now() - t0;
        },
        async () => {
          const t0 = now();
          await direct(args).exited;
          return now() - t0;
        },
        N,
      );
      const speedup = r.direct.median / r.mcptrace.median;
      record(metric, 'ms', r, 'p50 >= 5x faster', speedup >= 5, `${speedup.toFixed(1)}x faster`);
    }
  },

  async example_search(s) {
    // Start-up: the library is loaded on first use, so a server with it should start as fast as
    // one without (MCPTRACE_EXAMPLES_DIR pointing at nothing).
    const serve = [path.join(REPO, 'bin/run.js'), 'serve'];
    const startup = await abab(
      () => spawnToList(serve),
      () => spawnToList(serve, { MCPTRACE_EXAMPLES_DIR: '/nonexistent' }),
    );
    const added = startup.mcptrace.median - startup.direct.median;
    record('start-up with the examples library (direct: without it)', 'ms', startup, '< +50 ms', added < 50, `adds ${added.toFixed(1)} ms`);
    // First search of a fresh server: loading the library (build cache), the .bt tools and the index.
    const first = [];
    for (let i = 0; i < (SMOKE ? 2 : 5); i++) {
      const f = await startServer();
      const t0 = now();
      await f.call('search_examples', { query: 'why is the disk slow' });
      first.push(now() - t0);
      await f.close();
    }
    log(`  first search of a fresh server (loads the library): median ${fmt(median(first))} ms`);
    // Search with the whole library loaded, across the public query set: in process through
    // Core.callTool (what the server does per call), and over MCP for the round trip, beside a
    // trivial cached tool (list_helpers) to show what the transport itself costs.
    const { parse } = await import('yaml');
    const { queries } = parse(readFileSync(path.join(REPO, 'test/search/queries.yaml'), 'utf8'));
    const { Core } = await import(path.join(REPO, 'dist/core/core.js'));
    const core = new Core();
    await core.callTool('search_examples', { query: 'warm up' });
    await s.call('search_examples', { query: 'warm up' });
    const inProcess = [];
    const overMcp = [];
    const trivial = [];
    for (let round = 0; round < (SMOKE ? 1 : 3); round++) {
      for (const q of queries) {
        let t0 = now();
        await core.callTool('search_examples', { query: q.q, limit: 5 });
        inProcess.push(now() - t0);
        t0 = now();
        await s.call('search_examples', { query: q.q, limit: 5 });
        overMcp.push(now() - t0);
        t0 = now();
        await s.call('list_helpers', { filter: 'stack' });
        trivial.push(now() - t0);
      }
    }
    await core.shutdown();
    const p50 = median(inProcess);
    results.push({
      metric: `search_examples p50, whole library loaded (${queries.length} queries x ${inProcess.length / queries.length}, in process)`,
      unit: 'ms',
      mcptrace: stat(inProcess),
      direct: stat([NaN]),
      ratio: NaN,
      target: 'p50 < 5 ms',
      ok: p50 < 5,
      note: `over MCP p50 ${median(overMcp).toFixed(2)} ms (list_helpers over MCP: ${median(trivial).toFixed(2)} ms); first search of a fresh server ${fmt(median(first))} ms`,
    });
    log(`  search_examples: p50 ${p50.toFixed(2)} ms in process, ${median(overMcp).toFixed(2)} ms over MCP (list_helpers ${median(trivial).toFixed(2)} ms)`);
  },

  async memory() {
    const count = SMOKE ? 200_000 : 1_000_000;
    const s = await startServer();
    try {
      const started = await s.call('exec_program', { program: PROG_EVENT, timeout: 600 });
      await waitAttachedMcp(s, started.execution_id);
      await generate(count, 120_000);
      const v = await s.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
      const status = readFileSync(`/proc/${s.transport.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
      const received = v.lines_total + v.dropped.lines;
      results.push({
        metric: `server peak RSS during a ${count / 1e6}M-line flood`,
        unit: 'MB',
        mcptrace: stat([hwm]),
        direct: stat([NaN]),
        ratio: NaN,
        target: '< 150 MB',
        ok: hwm < 150,
        note: `received ${received}, kept ${v.lines_total} (cap ${v.limits.max_lines}), dropped ${v.dropped.lines} and reported so`,
      });
      log(`  memory: peak RSS ${hwm.toFixed(0)} MB, kept ${v.lines_total}, dropped ${v.dropped.lines}`);
    } finally {
      await s.close();
      rmSync(STATE_DIR, { recursive: true, force: true });
    }
  },

  // Rendering is not the slow part of a template run: render_template, over MCP, end to end.
  async render_template(s) {
    const N = SMOKE ? 11 : 101;
    const cases = [
      ['render_template p50 (trace_opens, over MCP)', { name: 'trace_opens', params: { comm: 'bash', path_prefix: '/etc/' } }],
      ['render_template p50 (count_syscalls with its 362-name table, over MCP)', { name: 'count_syscalls', params: { comm: 'bash' } }],
    ];
    for (const [metric, args] of cases) {
      await s.call('render_template', args);
      const times = [];
      for (let i = 0; i < N; i++) {
        const t0 = now();
        await s.call('render_template', args);
        times.push(now() - t0);
      }
      const r = { mcptrace: stat(times), direct: stat([NaN]) };
      record(metric, 'ms', r, 'p50 < 2 ms', r.mcptrace.median < 2, `${N} calls`);
    }
    // The same call in-process (Core.callTool): what mcptrace itself spends, without stdio and
    // the client's schema check, which dominate on a busy machine.
    const { Core } = await import(path.join(REPO, 'dist/core/core.js'));
    const core = new Core({ env: { HOME: '/nonexistent' } });
    const [, args] = cases[1];
    await core.callTool('render_template', args);
    const times = [];
    for (let i = 0; i < N; i++) {
      const t0 = now();
      await core.callTool('render_template', args);
      times.push(now() - t0);
    }
    const r = { mcptrace: stat(times), direct: stat([NaN]) };
    record('render_template p50 (count_syscalls, in-process Core.callTool)', 'ms', r, 'p50 < 2 ms', r.mcptrace.median < 2, `${N} calls`);
  },

  async validate_program(s) {
    // validate_program against bare `bpftrace --emit-elf` on the same program file: the compile
    // is the floor; the rest (temp file, probe counts, policy, parsing) must stay within 1.2x.
    const prog = 'tracepoint:syscalls:sys_enter_openat /comm == "bash"/ { @[str(args->filename)] = count(); }';
    const dir = path.join(os.tmpdir(), `mcptrace-bench-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'p.bt');
    writeFileSync(file, prog);
    try {
      const r = await abab(
        async () => {
          const t0 = now();
          const v = await s.call('validate_program', { program: prog });
          if (v.valid !== true) throw new Error(`unexpected: ${JSON.stringify(v)}`);
          return now() - t0;
        },
        async () => {
          const t0 = now();
          const d = direct(['--emit-elf', path.join(dir, 'p.o'), file]);
          await d.exited;
          return now() - t0;
        },
        SMOKE ? RUNS : 11,
      );
      const ratio = r.mcptrace.median / r.direct.median;
      record('validate_program vs bpftrace --emit-elf', 'ms', r, 'p50 within 1.2x', ratio <= 1.2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  async policy_check() {
    // The pre-run hook's static policy on a realistic program, in process: tokens, calls,
    // probes and every rule of knowledge/policy.yaml (no compile, no probe list).
    const { loadPolicy } = await import(path.join(REPO, 'dist/policy/policy.js'));
    const { analyzeProgram } = await import(path.join(REPO, 'dist/validation/validator.js'));
    const policy = loadPolicy({ level: 'standard' });
    const prog =
      'tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_read /@start[tid]/ { @us = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); } // cat("/etc/shadow") in a comment\nEND { printf("done %s\\n", "system(x)"); }';
    const once = () => {
      const t0 = now();
      policy.evaluate({ tool: 'exec_program', argv: ['bpftrace', '-e', prog], program: analyzeProgram(prog) });
      return now() - t0;
    };
    for (let i = 0; i < 200; i++) once();
    const xs = Array.from({ length: 1000 }, once);
    const r = { mcptrace: stat(xs), direct: { median: NaN, min: NaN, max: NaN, runs: [] } };
    record('static policy check (pre-run hook)', 'ms', r, '< 2 ms', r.mcptrace.median < 2, 'in process, 1000 runs');
  },

  // The history records every run while it goes (a batch a second); a server with it on is
  // measured against one with --no-history, alternating, on what recording could slow: the
  // exec round trip, a 100k lines/s stream, and the delivery rate under overload.
  async history_overhead(s) {
    const off = await startServer(['--no-history']);
    try {
      const HI = 'BEGIN { printf("hi\\n"); exit(); }';
      const trip = (srv) => async () => {
        const t0 = now();
        const v = await srv.call('exec_program', { program: HI, wait: true });
        if (!v.output?.includes('hi')) throw new Error(`unexpected: ${JSON.stringify(v)}`);
        return now() - t0;
      };
      let r = await abab(trip(s), trip(off), SMOKE ? RUNS : 15);
      record(
        'history on vs off: exec round trip',
        'ms',
        { mcptrace: r.mcptrace, direct: r.direct },
        'on <= 1.05x off',
        r.mcptrace.median <= 1.05 * r.direct.median,
        '"direct" column: --no-history',
      );
      const count = SMOKE ? 50_000 : 300_000;
      const stream = (srv, rate) => async () => {
        const started = await srv.call('exec_program', { program: PROG_EVENT, timeout: 300 });
        await waitAttachedMcp(srv, started.execution_id);
        const t0 = now();
        await generate(count, rate);
        const v = await srv.call('stop_execution', { execution_id: started.execution_id, wait: 120, limit: 1 });
        const received = v.lines_total + v.dropped.lines - (await framingLines(srv));
        return received / ((now() - t0) / 1000);
      };
      // The generator at 100k/s, then at full speed (0): more than bpftrace can format.
      for (const [rate, what] of [
        [100_000, '100k lines/s stream'],
        [0, 'overload'],
      ]) {
        r = await abab(stream(s, rate), stream(off, rate), SMOKE ? 1 : 3);
        const ok = r.mcptrace.median >= 0.95 * r.direct.median;
        record(`history on vs off: ${what}, lines/s delivered`, 'lines/s', r, 'on >= 0.95x off', ok, '"direct" column: --no-history');
      }
    } finally {
      await off.close();
    }
  },

  // Pure computation, no bpftrace to compare with: inputs of the sizes issue 15 names, shaped
  // like runs recorded here (bench/analysis.js). The stall is the longest the event loop waited
  // meanwhile: what another run's output or MCP call would wait.
  async analysis() {
    const { analysisScenarios } = await import('./analysis.js');
    for (const r of await analysisScenarios(RUNS)) {
      const stall = Math.max(...r.stalls);
      results.push({
        metric: r.name,
        unit: 'ms',
        mcptrace: stat(r.times),
        direct: stat([NaN]),
        ratio: NaN,
        target: 'event loop never held > 250 ms',
        ok: stall < 250,
        note: `longest event-loop stall ${stall.toFixed(0)} ms; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
      });
      log(`  ${r.name}: median ${fmt(median(r.times))} ms, longest stall ${stall.toFixed(0)} ms`);
    }
  },
};

// ---------- main ----------

const t0 = now();
const s = await startServer();
for (const [name, fn] of Object.entries(scenarios)) {
  if (ONLY && name !== ONLY) continue;
  log(`== ${name}`);
  await fn(s);
}
await s.close();

const rows = results.map((r) => [
  r.metric,
  `${fmt(r.mcptrace.median)} (${fmt(r.mcptrace.min)}–${fmt(r.mcptrace.max)})`,
  Number.isNaN(r.direct.median) ? '—' : `${fmt(r.direct.median)} (${fmt(r.direct.min)}–${fmt(r.direct.max)})`,
  Number.isNaN(r.ratio) ? '—' : r.ratio.toFixed(2),
  r.unit,
  r.target,
  r.ok ? 'yes' : 'NO',
  r.note,
]);
const header = ['metric', 'mcptrace median (min–max)', 'direct median (min–max)', 'ratio', 'unit', 'target', 'met', 'note'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
process.stdout.write(`${table}\n`);
const meta = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${os.release()}`,
  bpftrace: execFileSync('bpftrace', ['--version']).toString().trim(),
  node: process.version,
  smoke: SMOKE,
  runs: RUNS,
  seconds: ((now() - t0) / 1000).toFixed(0),
};
const dir = path.join(HERE, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${meta.date.replace(/[:.]/g, '-')}${SMOKE ? '-smoke' : ''}.json`);
writeFileSync(file, `${JSON.stringify({ meta, results }, null, 2)}\n`);
log(`\n${meta.machine}; ${meta.bpftrace}; ${meta.seconds} s; written to ${path.relative(REPO, file)}`);
if (SMOKE && results.length === 0) process.exit(1);
