// Analysis benchmarks (npm run bench -- --only analysis): pure computation on inputs of the sizes
// the issue names, shaped like real output recorded here. Reports each time and the longest
// stretch the event loop was held (what another run's output or MCP call would wait).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { analyze } = await import(path.join(REPO, 'dist/analysis/analyze.js'));
const { renderFlameGraph } = await import(path.join(REPO, 'dist/analysis/flamegraph.js'));
const { foldStacks } = await import(path.join(REPO, 'dist/analysis/stacks.js'));
const { svgToPng } = await import(path.join(REPO, 'dist/analysis/png.js'));
const { sourceFromSavedText } = await import(path.join(REPO, 'dist/analysis/saved-output.js'));

/** A deterministic generator, so every run measures the same input. */
function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

const fixtures = path.join(REPO, 'test/fixtures/analysis');
const printf = sourceFromSavedText('p', readFileSync(path.join(fixtures, 'printf-stream.json'), 'utf8')).text;
const profile = sourceFromSavedText('k', readFileSync(path.join(fixtures, 'kstack-profile.json'), 'utf8')).maps[0];
const frames = [
  ...new Set(
    Object.keys(profile.value).flatMap((k) =>
      k
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ),
];

export function inputs() {
  const r = rng(15);
  const keyed = {};
  for (let i = 0; i < 10_000; i++) keyed[`proc-${i}`] = 1 + Math.floor(r() * 100_000);
  const map = { type: 'map', name: '@syscalls', value: keyed };
  // 100k lines of the recorded openat stream, repeated.
  const lines = Array.from({ length: 100_000 }, (_, i) => printf[i % printf.length]);
  // 10k distinct stacks grown from the recorded profile's real ones: each is a recorded stack
  // with up to eight recorded frames added at the leaf end, so towers share roots as in a profile.
  const real = Object.keys(profile.value).filter((k) => k.includes('\n'));
  const stacks = {};
  let n = 0;
  while (n < 10_000) {
    const extra = Array.from({ length: Math.floor(r() * 9) }, () => `        ${frames[Math.floor(r() * frames.length)]}`);
    const key = `\n${extra.join('\n')}${extra.length ? '' : ''}${real[Math.floor(r() * real.length)]}`;
    if (!(key in stacks)) n++;
    stacks[key] = 1 + Math.floor(r() * 50);
  }
  const stackMap = { type: 'map', name: '@', value: stacks };
  const source = (maps, text = []) => ({ id: 'bench', maps, prints: [], text });
  return { keyMap: source([map]), stream: source([], lines), stackMap: source([stackMap]), stackMapRaw: stackMap };
}

/** Runs fn, timing it and the longest event-loop delay meanwhile. */
export async function measure(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // A ticker, as a server's other work would be: it can only run when the analysis yields.
  let longest = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
  }, 1);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  clearInterval(tick);
  longest = Math.max(longest, performance.now() - last);
  h.disable();
  return { ms, stallMs: longest };
}

export async function analysisScenarios(runs) {
  const { keyMap, stream, stackMap, stackMapRaw } = inputs();
  const cases = [
    // Nothing but the ticker: on a loaded machine the loop waits for the CPU too; this is the floor.
    ['baseline: an idle event loop for 500 ms', () => new Promise((r) => setTimeout(r, 500))],
    ['analyze a 10k-key count map', () => analyze(keyMap)],
    ['analyze a 100k-line printf stream', () => analyze(stream)],
    ['analyze a 10k-stack profile (folded + top frames)', () => analyze(stackMap)],
    ['flame graph SVG from 10k stacks', async () => renderFlameGraph((await foldStacks(stackMapRaw)).stacks)],
  ];
  const { svg } = await renderFlameGraph((await foldStacks(stackMapRaw)).stacks);
  cases.push(['PNG of that flame graph (resvg, off the main thread)', () => svgToPng(svg)]);
  const out = [];
  for (const [name, fn] of cases) {
    await fn();
    const times = [];
    const stalls = [];
    for (let i = 0; i < runs; i++) {
      const m = await measure(fn);
      times.push(m.ms);
      stalls.push(m.stallMs);
    }
    out.push({ name, times, stalls });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await analysisScenarios(5)) {
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    process.stdout.write(
      `${r.name}: median ${med(r.times).toFixed(1)} ms (min ${Math.min(...r.times).toFixed(1)}, max ${Math.max(...r.times).toFixed(1)}); longest event-loop stall ${Math.max(...r.stalls).toFixed(1)} ms\n`,
    );
  }
}
