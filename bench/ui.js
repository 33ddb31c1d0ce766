#!/usr/bin/env node
// What the views cost in a real browser (Debian's Chromium), shown as an MCP Apps host shows
// them (ext-apps' AppBridge, tests' host page):
//  - flame graph: first render of 10,000 distinct stacks in the view (stacks in hand to
//    frames painted; and from opening the view), against drawing the same stacks as the static SVG the
//    server already makes (src/analysis/flamegraph.ts), in the same run;
//  - live run: a real bpftrace printing 10,000 lines/s, followed for 10 s through a real
//    `mcptrace serve`: time to the first line on screen, lines per second the view took in,
//    requests, repaints and the longest main-thread task.
// Run after `npm run build`, as root: node bench/ui.js [--smoke]
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { renderFlameGraph as svgFlameGraph } from '../dist/analysis/flamegraph.js';
import { REPO, startAppsHost } from '../scripts/ui-host.mjs';

const SMOKE = process.argv.includes('--smoke');
const REPEATS = SMOKE ? 2 : 7;
const LIVE_SECONDS = SMOKE ? 3 : 10;
const log = (m) => process.stderr.write(`${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** 10,000 distinct stacks shaped like a profile: a call tree 20–40 deep with shared prefixes. */
function syntheticStacks(n) {
  // mulberry32: 32-bit integer arithmetic throughout, so the sequence never degenerates.
  let seed = 42;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const names = Array.from({ length: 800 }, (_, i) => `func_${i.toString(36)}_${['read', 'write', 'lock', 'alloc', 'sched', 'copy'][i % 6]}`);
  const stacks = new Map();
  while (stacks.size < n) {
    const depth = 20 + Math.floor(rand() * 21);
    const frames = [];
    // Callers are few near the root and many near the leaves, as in a real profile.
    for (let d = 0; d < depth; d++) frames.push(names[Math.floor(rand() ** (3 - (2 * d) / depth) * names.length)]);
    stacks.set(frames.join(';'), 1 + Math.floor(rand() * 50));
  }
  return stacks;
}

const host = await startAppsHost({ serveArgs: ['--max-output-lines', '10000000'] });
const results = { date: new Date().toISOString(), smoke: SMOKE, repeats: REPEATS, chromium: host.browser.version() };

try {
  // Flame graph: the view asks analyze_output for the folded stacks; here it gets these.
  const stacks = syntheticStacks(10_000);
  const folded = [...stacks].map(([k, v]) => `${k} ${v}`).join('\n');
  const view = [];
  const opened = [];
  for (let i = 0; i < REPEATS; i++) {
    const synthetic = async () => ({ content: [{ type: 'text', text: '' }], structuredContent: { folded, stacks: [{ map: '@', samples: 0 }] } });
    const t0 = Date.now();
    const { page, frame } = await host.open('flamegraph', { execution_id: 'exec-bench' }, undefined, {
      viewport: { width: 1200, height: 900 },
      call: synthetic,
    });
    await frame.waitForSelector('.frame');
    // Painted: two animation frames after the frames are in the document.
    const painted = await frame.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(Date.now())))));
    opened.push(painted - t0);
    view.push(await frame.evaluate(() => performance.getEntriesByName('mcptrace-flame-first-render')[0].duration));
    if (i === 0) results.flame_frames_drawn = await frame.$$eval('.frame', (els) => els.length);
    await page.close();
  }
  const svg = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await svgFlameGraph(stacks, { title: 'bench' });
    svg.push(performance.now() - t0);
  }
  results.flame = {
    stacks: stacks.size,
    view_first_render_ms: Math.round(median(view)),
    view_open_to_painted_ms: Math.round(median(opened)),
    static_svg_ms: Math.round(median(svg)),
  };
  results.flame.ratio_view_to_svg = +(results.flame.view_first_render_ms / results.flame.static_svg_ms).toFixed(2);
  log(
    `flame graph, 10k stacks: the view's first render ${results.flame.view_first_render_ms} ms (median of ${REPEATS}: stacks in hand to painted, ${results.flame_frames_drawn} frames drawn); ${results.flame.view_open_to_painted_ms} ms from opening the view (iframe, bundle, handshake, the analyze_output call); the static SVG ${results.flame.static_svg_ms} ms; ratio ${results.flame.ratio_view_to_svg}`,
  );

  // Live run: a real trace at 10,000 lines/s (10 lines every millisecond), through a real server.
  const { call } = host;
  const printf = Array.from({ length: 10 }, (_, i) => `printf("%d line ${i} of a busy trace\\n", @n);`).join(' ');
  const program = `interval:ms:1 { ${printf} @n++; }`;
  const started = await call('exec_program', { program, timeout: LIVE_SECONDS + 30, max_lines: 10_000_000 });
  const id = started.structuredContent.execution_id;
  const t0 = Date.now();
  const { page, frame } = await host.open('live-run', { program }, started, { viewport: { width: 1200, height: 900 } });
  await frame.evaluate(() => {
    window.__longest = 0;
    new PerformanceObserver((l) => l.getEntries().forEach((e) => (window.__longest = Math.max(window.__longest, e.duration)))).observe({
      type: 'longtask',
      buffered: true,
    });
  });
  await frame.waitForFunction(() => /line 0 of a busy trace/.test(document.getElementById('output')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const firstLine = Date.now() - t0;
  const before = await frame.evaluate(() => ({ ...window.__mcptraceLive, at: Date.now() }));
  await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
  const after = await frame.evaluate(() => ({ ...window.__mcptraceLive, at: Date.now(), longest: window.__longest }));
  const server = await call('get_result', { execution_id: id, offset: 0, limit: 1 });
  const rate = (after.lines - before.lines) / ((after.at - before.at) / 1000);
  await call('stop_execution', { execution_id: id, wait: 30, include_maps: false, limit: 1 });
  await page.close();
  results.live = {
    target_lines_per_second: 10_000,
    first_line_ms: firstLine,
    view_lines_per_second: Math.round(rate),
    server_lines_total: server.structuredContent.lines_total,
    seconds: LIVE_SECONDS,
    requests_per_second: +((after.polls - before.polls) / ((after.at - before.at) / 1000)).toFixed(1),
    repaints_per_second: +((after.paints - before.paints) / ((after.at - before.at) / 1000)).toFixed(1),
    longest_task_ms: Math.round(after.longest),
  };
  log(
    `live run at 10k lines/s for ${LIVE_SECONDS} s: first line on screen after ${firstLine} ms; the view took in ${Math.round(rate)} lines/s with ${results.live.requests_per_second} requests/s and ${results.live.repaints_per_second} repaints/s; longest main-thread task ${results.live.longest_task_ms} ms`,
  );
} finally {
  await host.close();
}

if (!SMOKE) {
  const out = path.join(REPO, 'bench/results', `ui-${results.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(REPO, out)}`);
}
