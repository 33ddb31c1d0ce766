import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyzeBuckets } from '../../src/analysis/histogram.js';
import { buildPage, contrastRatio, describeBrowser, launchBrowser } from '../helpers/browser.js';

const HARNESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'harness/components.html');

// "baz qux" has a space (the count is the last token); "operator()" is no valid regex prefix; three lines are malformed.
const FOLDED = [
  'main;foo;bar 10',
  'main;foo;baz qux 5',
  'main;food 3',
  'main;other;foo 2',
  'main;operator() 1',
  'main 4',
  'no count here',
  '   ',
  'main;x notanumber',
  '42',
].join('\n');

interface Node {
  name: string;
  value: number;
  self: number;
  base?: number;
  children: Node[];
}

interface FrameBox {
  name: string;
  path: string;
  x: number;
  w: number;
  cls: string;
}

let browser: Browser;
let page: Page;

/** A fresh container of the given width in the harness page. */
const mount = (width = 900) =>
  page.evaluate((w) => {
    const c = document.createElement('div');
    c.id = 'c';
    c.style.width = `${w}px`;
    document.getElementById('root')!.replaceChildren(c);
  }, width);

const frames = (): Promise<FrameBox[]> =>
  page.$$eval('#c .frame', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { name: e.getAttribute('data-name')!, path: e.getAttribute('data-path')!, x: r.left, w: r.width, cls: e.className };
    }),
  );

const frameAt = async (p: string[]) => (await frames()).find((f) => f.path === JSON.stringify(p));
const graphWidth = () => page.$eval('#c .flame-graph', (e) => e.getBoundingClientRect().width);
const status = () => page.$eval('#c [role=status]', (e) => e.textContent ?? '');

/** The share of samples in frames matching `re`, a match under a matched caller counted once. */
function share(root: Node, re: RegExp): { matches: number; samples: number } {
  let matches = 0;
  let samples = 0;
  const walk = (n: Node, under: boolean) => {
    const m = re.test(n.name);
    if (m) {
      matches++;
      if (!under) samples += n.value;
    }
    for (const c of n.children) walk(c, under || m);
  };
  for (const c of root.children) walk(c, false);
  return { matches, samples };
}

const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);

describeBrowser('browser components (flame graph, charts)', () => {
  beforeAll(async () => {
    const html = await buildPage(HARNESS);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.setContent(html);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('parseFolded builds totals and self counts, keeps frames with spaces, skips malformed lines', async () => {
    const root: Node = await page.evaluate((t) => (window as any).parseFolded(t), FOLDED);
    expect(root.name).toBe('all');
    expect(root.value).toBe(25);
    const main = root.children[0];
    expect(root.children.map((c) => c.name)).toEqual(['main']);
    expect(main).toMatchObject({ value: 25, self: 4 });
    expect(main.children.map((c) => c.name)).toEqual(['foo', 'food', 'operator()', 'other']);
    const foo = main.children[0];
    expect(foo).toMatchObject({ value: 15, self: 0 });
    expect(foo.children.map((c) => [c.name, c.value, c.self])).toEqual([
      ['bar', 10, 10],
      ['baz qux', 5, 5],
    ]);
    expect(main.children[3].children[0]).toMatchObject({ name: 'foo', value: 2, self: 2 });
    expect(await page.evaluate(() => (window as any).parseFolded('\n\nnothing\n').value)).toBe(0);
  });

  it('diffTree keeps the widths of the later run and gives every node the baseline value at its path', async () => {
    const d: Node = await page.evaluate((t) => {
      const w = window as any;
      return w.diffTree(w.parseFolded(t), w.parseFolded('main;foo;bar 4\nmain;gone 6\nelse 2'));
    }, FOLDED);
    expect(d).toMatchObject({ value: 25, base: 12 });
    const main = d.children[0];
    expect(main).toMatchObject({ name: 'main', value: 25, base: 10 });
    expect(main.children.map((c) => [c.name, c.value, c.base])).toEqual([
      ['foo', 15, 4],
      ['food', 3, 0],
      ['operator()', 1, 0],
      ['other', 2, 0],
    ]);
    expect(main.children[0].children.map((c) => [c.name, c.base])).toEqual([
      ['bar', 4],
      ['baz qux', 0],
    ]);
    // 'gone' is only in the baseline: widths come from the later run alone.
    expect(JSON.stringify(d)).not.toContain('gone');
  });

  it('lays out a flame graph: children within their parent, root across the width, leaves above', async () => {
    await mount();
    await page.evaluate((t) => ((window as any).fg = (window as any).renderFlameGraph(document.getElementById('c'), t, { title: 'CPU' })), FOLDED);
    const all = await frames();
    const gw = await graphWidth();
    expect(all.length).toBe(9);
    const byPath = new Map(all.map((f) => [f.path, f]));
    const root = byPath.get('[]')!;
    expect(root.name).toBe('all');
    expect(root.w).toBeCloseTo(gw, 0);
    for (const [p, f] of byPath) {
      const kids = all.filter((k) => {
        const kp = JSON.parse(k.path) as string[];
        return kp.length && JSON.stringify(kp.slice(0, -1)) === p;
      });
      expect(kids.reduce((n, k) => n + k.w, 0)).toBeLessThanOrEqual(f.w + 0.5);
      for (const k of kids) expect(k.x).toBeGreaterThanOrEqual(f.x - 0.5);
    }
    const tops = await page.$$eval('#c .frame', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-path'), e.getBoundingClientRect().top])));
    expect(tops['["main","foo","bar"]']).toBeLessThan(tops['["main","foo"]']);
    expect(tops['["main"]']).toBeLessThan(tops['[]']);
    const bar = await page.$eval('#c .frame[data-path=\'["main","foo","bar"]\']', (e) => ({ title: e.getAttribute('title'), text: e.textContent }));
    expect(bar).toEqual({ title: 'bar — 10 samples (40.00%)', text: 'bar' });
    expect(await page.$eval('#c h2', (e) => e.textContent)).toBe('CPU');
  });

  it('zooms on click, zooms out through an ancestor, and resets', async () => {
    const gw = await graphWidth();
    await page.click('#c .frame[data-path=\'["main","foo","bar"]\']');
    expect((await frameAt(['main', 'foo', 'bar']))!.w).toBeCloseTo(gw, 0);
    expect(await status()).toContain('Zoomed: bar');
    // Ancestors stay drawn, full width and greyed; siblings of the zoomed frame are gone.
    for (const p of [[], ['main'], ['main', 'foo']]) {
      const f = (await frameAt(p))!;
      expect(f.cls).toContain('ancestor');
      expect(f.w).toBeCloseTo(gw, 0);
    }
    expect(await frameAt(['main', 'foo', 'baz qux'])).toBeUndefined();
    expect(await frameAt(['main', 'food'])).toBeUndefined();

    await page.click('#c .frame[data-path=\'["main"]\']');
    expect(await status()).toContain('Zoomed: main');
    expect((await frameAt(['main', 'food']))!.cls).not.toContain('ancestor');
    expect((await frameAt(['main', 'foo']))!.w).toBeCloseTo((gw * 15) / 25, 0);

    await page.click('#c button:text("Reset zoom")');
    expect((await frameAt([]))!.w).toBeCloseTo(gw, 0);
    expect((await frameAt(['main', 'foo', 'bar']))!.w).toBeCloseTo((gw * 10) / 25, 0);
    expect(await status()).not.toContain('Zoomed');

    await page.evaluate(() => (window as any).fg.zoom(['main', 'other']));
    expect((await frameAt(['main', 'other']))!.w).toBeCloseTo(gw, 0);
    await page.evaluate(() => (window as any).fg.reset());
    expect((await frameAt([]))!.cls).not.toContain('ancestor');
  });

  it('searches by substring or regex, marks exactly the matching frames and reports their share', async () => {
    const tree: Node = await page.evaluate((t) => (window as any).parseFolded(t), FOLDED);
    for (const [term, re] of [
      ['foo', /foo/i],
      ['^BA', /^BA/i],
      ['operator(', /operator\(/i],
    ] as const) {
      await page.fill('#c input[type=search]', term);
      const expected = share(tree, re);
      const matched = (await frames()).filter((f) => f.cls.split(' ').includes('match'));
      const shouldMatch = (await frames()).filter((f) => f.path !== '[]' && re.test(f.name));
      expect(matched.map((f) => f.path).sort()).toEqual(shouldMatch.map((f) => f.path).sort());
      expect(matched.length).toBeGreaterThan(0);
      const pct = (100 * expected.samples) / tree.value;
      expect(await status()).toBe(`${expected.matches} ${expected.matches === 1 ? 'match' : 'matches'} · ${pct.toFixed(1)}% of samples`);
      const api = await page.evaluate((t) => (window as any).fg.search(t), term);
      expect(api.matches).toBe(expected.matches);
      expect(api.samples).toBe(expected.samples);
      expect(api.percent).toBeCloseTo(pct, 6);
    }
    // foo (15) + food (3) + other;foo (2): the three stacks, no double count.
    expect(share(tree, /foo/i)).toEqual({ matches: 3, samples: 20 });
    await page.fill('#c input[type=search]', '');
    expect(await page.$$eval('#c .frame.match', (els) => els.length)).toBe(0);
  });

  it('is one tab stop driven by the keyboard: arrows move, Enter zooms, Escape resets, / searches', async () => {
    const gw = await graphWidth();
    await page.focus('#c .flame-graph');
    const focused = () =>
      page.$eval('#c .flame-graph', (g) => {
        const id = g.getAttribute('aria-activedescendant');
        const el = id ? document.getElementById(id) : null;
        const all = [...g.querySelectorAll('.focused')];
        return { path: el?.getAttribute('data-path'), same: all.length === 1 && all[0] === el };
      });
    expect(await focused()).toEqual({ path: '[]', same: true });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toEqual({ path: '["main","foo"]', same: true });
    expect(await page.$eval('#c .flame-details', (e) => e.textContent)).toBe('foo — 15 samples · 60.00% of total · 60.00% of main');
    await page.keyboard.press('ArrowRight');
    expect((await focused()).path).toBe('["main","food"]');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect((await focused()).path).toBe('["main","foo"]');
    await page.keyboard.press('ArrowDown');
    expect((await focused()).path).toBe('["main"]');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    expect((await frameAt(['main', 'food']))!.w).toBeCloseTo(gw, 0);
    expect(await status()).toContain('Zoomed: food');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press(' ');
    expect(await status()).toContain('Zoomed: main');
    await page.keyboard.press('Escape');
    expect((await frameAt([]))!.cls).not.toContain('ancestor');
    expect(await status()).not.toContain('Zoomed');
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).getAttribute('aria-label'))).toBe('Search functions');
    expect(await page.$eval('#c input[type=search]', (e) => (e as HTMLInputElement).value)).toBe('');
    expect(await page.$$eval('#c [tabindex]', (els) => els.length)).toBe(1);
  });

  it('re-lays out when its container is resized', async () => {
    await page.$eval('#c', (e) => (e.style.width = '500px'));
    await page.waitForFunction(() => Math.abs(document.querySelector('#c .frame[data-path="[]"]')!.getBoundingClientRect().width - 500) < 1);
    expect((await frameAt(['main', 'foo']))!.w).toBeCloseTo((500 * 15) / 25, 0);
  });

  it('renders 10,000 distinct stacks and says how many frames were too narrow', async () => {
    await mount(1000);
    const r = await page.evaluate(() => {
      let seed = 7;
      const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const stacks = new Set<string>();
      while (stacks.size < 10_000) {
        const depth = 20 + Math.floor(rand() * 21);
        const f = ['main'];
        // Skewed choices, as in real profiles: a few hot paths, a long tail.
        for (let l = 1; l < depth; l++) f.push(`fn${l}_${Math.floor(rand() ** 3 * 8)}`);
        stacks.add(f.join(';'));
      }
      const text = [...stacks].map((s) => `${s} ${1 + Math.floor(rand() * 100)}`).join('\n');
      const t0 = performance.now();
      (window as any).renderFlameGraph(document.getElementById('c'), text);
      const call = performance.now() - t0;
      void document.body.offsetHeight;
      const laidOut = performance.now() - t0;
      return { call, laidOut, drawn: document.querySelectorAll('#c .frame').length, note: document.querySelector('#c .flame-hidden')!.textContent };
    });
    console.log(
      `flame graph, 10k stacks: first render ${r.call.toFixed(0)} ms (with style and layout ${r.laidOut.toFixed(0)} ms), ${r.drawn} frames drawn; ${r.note}`,
    );
    expect(r.drawn).toBeGreaterThan(100);
    expect(r.note).toMatch(/^\d+ frames too narrow to draw$/);
  });

  it('colours a differential graph: red where a frame grew, blue where it shrank, grey where it held', async () => {
    await mount();
    await page.evaluate(() =>
      (window as any).renderFlameGraph(document.getElementById('c'), 'main;grew 30\nmain;shrank 10\nmain;same 20', {
        baseline: 'main;grew 10\nmain;shrank 30\nmain;same 20',
      }),
    );
    const bg = (p: string[]) => page.$eval(`#c .frame[data-path='${JSON.stringify(p)}']`, (e) => getComputedStyle(e).backgroundColor).then(rgb);
    const [gr, gg, gb] = await bg(['main', 'grew']);
    expect(gr - gb).toBeGreaterThan(60);
    expect(gr - gg).toBeGreaterThan(60);
    const [sr, , sb] = await bg(['main', 'shrank']);
    expect(sb - sr).toBeGreaterThan(60);
    const [nr, ng, nb] = await bg(['main', 'same']);
    expect(Math.max(nr, ng, nb) - Math.min(nr, ng, nb)).toBeLessThan(16);
    expect(await page.$eval('#c .frame[data-path=\'["main","grew"]\']', (e) => e.getAttribute('title'))).toBe(
      'grew — 30 samples (50.00%), +20 vs baseline (+200.0%)',
    );
    expect(await page.$eval('#c .frame[data-path=\'["main","shrank"]\']', (e) => e.getAttribute('title'))).toContain('\u221220 vs baseline (\u221266.7%)');
    expect(await page.$eval('#c .flame-legend', (e) => e.textContent)).toMatch(/grew.*shrank.*unchanged/);
  });

  it('draws a histogram with p50/p90/p99 markers inside their buckets, in order, labelled', async () => {
    await mount();
    const buckets = [
      { low: 0, high: 0, count: 0 },
      { low: 1, high: 1, count: 0 },
      { low: 2, high: 3, count: 1 },
      { low: 4, high: 7, count: 5 },
      { low: 8, high: 15, count: 20 },
      { low: 16, high: 31, count: 40 },
      { low: 32, high: 63, count: 25 },
      { low: 64, high: 127, count: 8 },
      { low: 128, high: 255, count: 1 },
      { low: 256, high: 511, count: 0 },
    ];
    const a = analyzeBuckets(buckets);
    const percentiles = { p50: a.p50!, p90: a.p90!, p99: a.p99! };
    await page.evaluate(
      ([b, p]) => (window as any).renderHistogram(document.getElementById('c'), { title: 'Read latency', unit: 'us', buckets: b, percentiles: p, max: 255 }),
      [buckets, percentiles] as const,
    );
    const bars = await page.$$eval('#c figure.histogram rect.bar', (els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, right: r.right, height: r.height, label: e.querySelector('title')!.textContent };
      }),
    );
    const trimmed = buckets.slice(2, 9);
    expect(bars.map((b) => b.label)).toEqual(['[2, 4): 1', '[4, 8): 5', '[8, 16): 20', '[16, 32): 40', '[32, 64): 25', '[64, 128): 8', '[128, 256): 1']);
    // Heights in proportion to the counts.
    expect(bars[4].height / bars[3].height).toBeCloseTo(25 / 40, 2);
    const marks = await page.$$eval('#c .percentile', (els) =>
      els.map((e) => {
        const r = e.querySelector('line')!.getBoundingClientRect();
        return { key: e.getAttribute('data-percentile'), x: r.left + r.width / 2, label: e.textContent };
      }),
    );
    expect(marks.map((m) => m.key)).toEqual(['p50', 'p90', 'p99']);
    for (const m of marks) {
      const p = percentiles[m.key as 'p50'];
      const bar = bars[trimmed.findIndex((b) => b.low === p.low && b.high === p.high)];
      expect(m.x).toBeGreaterThanOrEqual(bar.left - 0.5);
      expect(m.x).toBeLessThanOrEqual(bar.right + 0.5);
      expect(m.label).toMatch(new RegExp(`^${m.key} [\\d.]+$`));
      expect(Number(m.label!.split(' ')[1])).toBeCloseTo(p.value, 0);
    }
    expect(marks[0].x).toBeLessThanOrEqual(marks[1].x);
    expect(marks[1].x).toBeLessThanOrEqual(marks[2].x);
    const summary = await page.$eval('#c figure.histogram svg', (e) => e.getAttribute('aria-label'));
    expect(summary).toContain('100 samples');
    expect(await page.$$eval('#c figure.histogram .sr-only table tbody tr', (els) => els.length)).toBe(7 + 3);
  });

  it('staggers percentile labels that would overlap and writes large values compactly', async () => {
    await mount(600);
    await page.evaluate(() =>
      (window as any).renderHistogram(document.getElementById('c'), {
        title: 'Sizes',
        buckets: [
          { low: 512, high: 1023, count: 60 },
          { low: 1024, high: 2047, count: 40 },
        ],
        percentiles: { p50: { value: 980, low: 512, high: 1023 }, p90: { value: 1200, low: 1024, high: 2047 }, p99: { value: 1234.5, low: 1024, high: 2047 } },
      }),
    );
    const labels = await page.$$eval('#c .percentile text', (els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      }),
    );
    expect(labels.map((l) => l.text)).toEqual(['p50 980', 'p90 1.2K', 'p99 1.2K']);
    for (let i = 0; i < labels.length; i++)
      for (let j = i + 1; j < labels.length; j++) {
        const [a, b] = [labels[i], labels[j]];
        const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        expect(overlap, `${a.text} overlaps ${b.text}`).toBe(false);
      }
    expect(await page.$eval('#c figure rect.bar title', (e) => e.textContent)).toBe('[512, 1K): 60');
  });

  it('draws a series with one point per interval and a 3-5 tick axis, and top keys with one bar per key', async () => {
    await mount();
    const points = [3, 5, 8, 13, 21, 34, 21, 13, 8, 5, 3, 2];
    const long = `${'very_long_function_name_'.repeat(8)}end`;
    await page.evaluate(
      ([p, k]) => {
        const w = window as any;
        const c = document.getElementById('c');
        w.renderSeries(c, { title: 'Syscalls per second', points: p, intervalSeconds: 5, unit: 'calls' });
        w.renderTopKeys(c, {
          title: 'Top processes',
          top: [
            { key: 'nginx', value: 500, share_percent: 50 },
            { key: k, value: 300, share_percent: 30 },
            { key: 'postgres', value: 120, share_percent: 12 },
            { key: 'sshd', value: 50, share_percent: 5 },
            { key: '<script>alert(1)</script>', value: 30, share_percent: 3 },
          ],
          total: 1000,
        });
      },
      [points, long] as const,
    );
    const series = await page.$eval('#c figure.series', (f) => ({
      points: f.querySelectorAll('circle.point').length,
      ticks: f.querySelectorAll('line.grid').length,
      extremes: [...f.querySelectorAll('text.extreme')].map((e) => e.textContent),
      xLabels: [...f.querySelectorAll('.axis text')].map((e) => e.textContent).filter((t) => t!.endsWith('s')),
      caption: f.querySelector('figcaption')!.textContent,
      rows: f.querySelectorAll('.sr-only table tbody tr').length,
    }));
    expect(series.points).toBe(points.length);
    expect(series.ticks).toBeGreaterThanOrEqual(3);
    expect(series.ticks).toBeLessThanOrEqual(5);
    expect(series.extremes).toEqual(['max 34', 'min 2']);
    expect(series.xLabels).toEqual(['0s', '30s', '55s']);
    expect(series.caption).toContain('Syscalls per second');
    expect(series.rows).toBe(points.length);

    const top = await page.$eval('#c figure.topkeys', (f) => ({
      bars: f.querySelectorAll('rect.bar').length,
      keys: [...f.querySelectorAll('text.key')].map((e) => e.textContent),
      titles: [...f.querySelectorAll('g.row > title')].map((e) => e.textContent),
      values: [...f.querySelectorAll('text.value')].map((e) => e.textContent),
      scripts: f.querySelectorAll('script').length,
    }));
    expect(top.bars).toBe(5);
    expect(top.keys[0]).toBe('nginx');
    expect(top.keys[1]!.endsWith('…')).toBe(true);
    expect(top.keys[1]!.length).toBeLessThan(long.length);
    expect(top.titles[1]).toBe(`${long}: 300 (30%)`);
    expect(top.values[0]).toBe('500 (50%)');
    expect(top.keys[4]).toBe('<script>alert(1)</script>');
    expect(top.scripts).toBe(0);
    // The screen-reader tables hold the long key too, yet must not widen the page.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1000);
  });

  it('keeps every visible text at 4.5:1 or more against its background, light and dark', async () => {
    await mount();
    await page.evaluate((folded) => {
      const w = window as any;
      const c = document.getElementById('c')!;
      const box = (width: number) => {
        const d = document.createElement('div');
        d.style.width = `${width}px`;
        c.append(d);
        return d;
      };
      // Zoomed, searched and focused: ancestors, matches and the focus ring all carry labels.
      const fg = w.renderFlameGraph(box(900), folded, { title: 'Profile' });
      fg.zoom(['main', 'foo']);
      fg.search('ba');
      // Many names, wide enough for labels, so the warm palette is sampled broadly.
      const names = Array.from({ length: 150 }, (_, i) => `main;fn_${i.toString(36)}_${(i * 7919).toString(16)} ${1 + (i % 3)}`).join('\n');
      w.renderFlameGraph(box(6000), names);
      // Every strength of change in both directions.
      const after = Array.from({ length: 40 }, (_, i) => `main;f${i} 100`).join('\n');
      const before = Array.from({ length: 40 }, (_, i) => `main;f${i} ${Math.round(100 * 2 ** ((i - 20) / 5))}`).join('\n');
      w.renderFlameGraph(box(3000), after, { baseline: before });
      w.renderHistogram(c, {
        title: 'Latency',
        unit: 'ns',
        buckets: [
          { low: 1024, high: 2047, count: 3 },
          { low: 2048, high: 4095, count: 9 },
          { low: 4096, high: 8191, count: 2 },
        ],
        percentiles: { p50: { value: 2900, low: 2048, high: 4095 }, p90: { value: 4000, low: 2048, high: 4095 }, p99: { value: 7000, low: 4096, high: 8191 } },
        max: 8191,
      });
      w.renderSeries(c, { title: 'Rate', points: [1, 4, 2, 8, 5], intervalSeconds: 1 });
      w.renderTopKeys(c, {
        title: 'Keys',
        top: [
          { key: 'a', value: 3, share_percent: 75 },
          { key: 'b', value: 1, share_percent: 25 },
        ],
        total: 4,
      });
    }, FOLDED);
    await page.focus('#c .flame-graph');
    await page.keyboard.press('ArrowUp');

    const backgrounds = new Set<string>();
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForFunction((t) => document.documentElement.dataset.theme === t, scheme);
      const texts = await page.evaluate(() => {
        const opaque = (c: string) => !/rgba\(/.test(c) || Number(c.match(/[\d.]+/g)![3]) >= 1;
        const out: { text: string; fg: string; bg: string }[] = [];
        for (const el of document.querySelectorAll('#root *')) {
          if (el.closest('.sr-only, title')) continue;
          if (![...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim())) continue;
          const r = el.getBoundingClientRect();
          const cs = getComputedStyle(el);
          if (r.width < 1 || r.height < 1 || cs.visibility === 'hidden') continue;
          let bg = 'rgb(255, 255, 255)';
          for (let p: Element | null = el; p; p = p.parentElement) {
            const b = getComputedStyle(p).backgroundColor;
            if (opaque(b)) {
              bg = b;
              break;
            }
          }
          out.push({ text: el.textContent!.slice(0, 40), fg: el instanceof SVGElement ? cs.fill : cs.color, bg });
        }
        return out;
      });
      backgrounds.add(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
      expect(texts.length).toBeGreaterThan(200);
      const frameTexts = texts.filter((t) => t.text.startsWith('fn_') || /^f\d+$/.test(t.text));
      expect(frameTexts.length).toBeGreaterThanOrEqual(150 + 40);
      const poor = texts.map((t) => ({ ...t, ratio: contrastRatio(t.fg, t.bg) })).filter((t) => !(t.ratio >= 4.5));
      expect(poor, `${scheme}: ${JSON.stringify(poor.slice(0, 5))}`).toEqual([]);
    }
    expect(backgrounds.size, 'the dark scheme changes the page').toBe(2);
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
