import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis/analyze.js';
import { barChart, histogramChart, timeSeriesChart } from '../../src/analysis/charts.js';
import { compareRuns, differentialFlameGraph } from '../../src/analysis/compare.js';
import { renderFlameGraph } from '../../src/analysis/flamegraph.js';
import { foldedText, foldStacks, parseFolded } from '../../src/analysis/stacks.js';
import { drawPicture } from '../../src/analysis/pictures.js';
import { svgToPng } from '../../src/analysis/png.js';
import { sourceFromSavedText } from '../../src/analysis/saved-output.js';
import { BpftraceJsonDecoder } from '../../src/runtime/bpftrace/json-decoder.js';
import { featuresOf, parseVersion } from '../../src/runtime/bpftrace/version.js';
import type { OutputEvent } from '../../src/runtime/output-decoder.js';
import { collapseStacks } from '../helpers/folded.js';
import { parseXml } from './xml.js';

const DIR = path.join(__dirname, '..', 'fixtures', 'analysis');
const VERSIONS = path.join(__dirname, '..', 'fixtures', 'versions');
const fixture = (name: string) => sourceFromSavedText(name, readFileSync(path.join(DIR, `${name}.json`), 'utf8'));

/** The decoder's map events for a recorded JSON stream: the typed map and the text bpftrace prints for it. */
function mapEvents(file: string, version: string) {
  const d = new BpftraceJsonDecoder(featuresOf(parseVersion(version)!));
  const events: OutputEvent[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) events.push(...d.stdout(l));
  events.push(...d.end());
  return events.filter((e): e is Extract<OutputEvent, { kind: 'map' }> => e.kind === 'map');
}

/** Frames a flame graph of these folded stacks has: one per distinct path prefix. */
function prefixes(stacks: ReadonlyMap<string, number>): number {
  const seen = new Set<string>();
  for (const s of stacks.keys()) {
    const f = s.split(';');
    for (let i = 1; i <= f.length; i++) seen.add(f.slice(0, i).join(';'));
  }
  return seen.size;
}

describe('folded stacks follow stackcollapse-bpftrace', () => {
  const cases: [string, string][] = [
    [path.join(DIR, 'kstack-profile.json'), '0.17.0'],
    [path.join(VERSIONS, '0.23.2', 'kstack-profile.json.stdout'), '0.23.2'],
    [path.join(VERSIONS, '0.27.1', 'kstack-profile.json.stdout'), '0.27.1'],
  ];
  for (const [file, version] of cases) {
    it(`${path.basename(file)} on ${version}: the same stacks and counts as collapsing the printed text`, async () => {
      const stackMaps = mapEvents(file, version).filter((e) => e.lines.some((l) => /^@\w*\[$/.test(l)));
      expect(stackMaps.length).toBeGreaterThan(0);
      for (const e of stackMaps) {
        const reference = collapseStacks(e.lines.join('\n'));
        const ours = await foldStacks(e.map);
        // A sample taken in user space has an empty kernel stack: the collapse keeps it as an
        // empty path, ours counts it apart (a flame graph has no frame to draw for it).
        if (reference.delete('')) expect(ours.empty).toBeGreaterThan(0);
        expect(new Map([...ours.stacks].sort())).toEqual(new Map([...reference].sort()));
        expect(parseFolded(foldedText(ours))).toEqual(ours.stacks);
      }
    });
  }
});

describe('the flame graph SVG', () => {
  it('is well-formed XML with one frame box per distinct stack prefix, searchable and zoomable', async () => {
    const { detail } = await analyze(fixture('kstack-profile'));
    const f = detail.folded[0];
    const g = await renderFlameGraph(f.stacks, { title: 'profile <&> "test"' });
    const { elements } = parseXml(g.svg);
    const frames = elements.filter((e) => e.name === 'g' && e.attrs.class === 'f');
    // The root "all" box plus one per frame.
    expect(frames.length - 1).toBe(prefixes(f.stacks));
    expect(g.frames).toBe(prefixes(f.stacks));
    expect(frames[0].attrs['data-w']).toBe(String(f.samples - f.empty));
    expect(g.svg).toContain("addEventListener('click'");
    expect(g.svg).toContain('id="search"');
    // The browser script at least parses (it runs only in a browser, on the SVG's DOM).
    const script = /<!\[CDATA\[([\s\S]*)\]\]>/.exec(g.svg)![1];
    expect(() => new Function(script)).not.toThrow();
    expect(g.svg).toContain('profile &lt;&amp;&gt; &quot;test&quot;');
  });

  it('a frame is as wide as its samples', async () => {
    const g = await renderFlameGraph(
      new Map([
        ['a;b', 3],
        ['a;c', 1],
      ]),
      { width: 420 },
    );
    const rects = [...g.svg.matchAll(/<title>(\w+) \((\d+) samples[^<]*<\/title><rect x="[\d.]+" y="\d+" width="([\d.]+)"/g)].map((m) => [m[1], Number(m[3])]);
    // 400 px for 4 samples: 100 px a sample.
    expect(Object.fromEntries(rects)).toEqual({ all: 400, a: 400, b: 300, c: 100 });
  });

  it('differential: coloured by the change in share, red for growth and blue for shrinkage', async () => {
    const before = new Map([
      ['a;b', 1],
      ['a;c', 3],
    ]);
    const after = new Map([
      ['a;b', 3],
      ['a;c', 1],
    ]);
    const g = await renderFlameGraph(after, { before });
    parseXml(g.svg);
    expect(g.svg).toMatch(/<title>b \(3 samples, 75.00%; \+50.00% vs before\)<\/title><rect [^>]*fill="rgb\(255,0,0\)"/);
    expect(g.svg).toMatch(/<title>c \(1 samples, 25.00%; -50.00% vs before\)<\/title><rect [^>]*fill="rgb\(0,0,255\)"/);
  });
});

describe('charts', () => {
  it('histogram, time series and bars are well-formed and render to PNG', async () => {
    for (const name of ['read-size-hist', 'interval-rate', 'syscall-count']) {
      const { result, detail } = await analyze(fixture(name));
      const p = (await drawPicture('chart', result, detail))!;
      expect(p.kind).toBe({ 'read-size-hist': 'histogram', 'interval-rate': 'timeseries', 'syscall-count': 'bars' }[name]);
      parseXml(p.svg);
      const png = await svgToPng(p.svg);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
  });

  it('a histogram row per bucket, labelled as bpftrace labels it', async () => {
    const { result, detail } = await analyze(fixture('read-size-hist'));
    const h = result.histograms[0];
    const svg = histogramChart('t', detail.buckets.get(h)!, h);
    const buckets = detail.buckets.get(h)!;
    expect(parseXml(svg).elements.filter((e) => e.name === 'rect').length).toBe(buckets.length + 1);
    expect(svg).toContain('>[4K, 8K)<');
  });

  it('escape what they print', () => {
    for (const svg of [barChart('<x>', [{ key: 'a&b', value: 1, share_percent: 100 }], 1), timeSeriesChart('"t"', [{ name: '<s>', points: [1, 2, 3] }])])
      parseXml(svg);
  });
});

describe('compare_runs logic', () => {
  it('two recorded syscall counts: keys that appeared, disappeared and moved', async () => {
    const a = await analyze(fixture('syscall-count'));
    const other = fixture('syscall-count');
    // The same run with one key gone, one new and one grown: what a fix would change.
    const value = { ...(other.maps[0].value as Record<string, number>) };
    delete value.ls;
    value.newcomer = 5;
    value.node = value.node * 2;
    other.maps[0] = { ...other.maps[0], value, keys: undefined };
    other.id = 'after';
    const b = await analyze(other);
    const c = compareRuns(a, b);
    const m = c.maps[0];
    expect(m.disappeared.map((k) => k.key)).toContain('ls');
    expect(m.appeared.map((k) => k.key)).toContain('newcomer');
    expect(m.moved.find((k) => k.key === 'node')).toMatchObject({ change_percent: 100 });
    expect(c.summary).toMatch(/@syscalls: total \d+ → \d+/);
  });

  it('a recorded read-size histogram against itself shifted one log2 bucket up: every percentile moves', async () => {
    const before = fixture('read-size-hist');
    const after = fixture('read-size-hist');
    after.id = 'after';
    after.maps = after.maps.map((m) =>
      m.name === '@bytes'
        ? { ...m, value: (m.value as { min: number; max: number; count: number }[]).map((b) => ({ ...b, min: b.min * 2 || 1, max: b.max * 2 + 1 })) }
        : m,
    );
    const c = compareRuns(await analyze(before), await analyze(after));
    const h = c.histograms.find((x) => x.map === '@bytes')!;
    expect(h.samples_a).toBe(h.samples_b);
    for (const p of h.percentiles) {
      expect(p.b!).toBeGreaterThan(p.a!);
      expect(p.change_percent!).toBeGreaterThan(50);
    }
    expect(c.histograms.find((x) => x.map === '@lbytes')!.percentiles.every((p) => p.change_percent === 0)).toBe(true);
  });

  it('profiles: a differential flame graph of the shared stack map', async () => {
    const a = await analyze(fixture('kstack-profile'));
    const g = (await differentialFlameGraph(a.detail, a.detail, 'same'))!;
    parseXml(g.svg);
    // The same profile twice: nothing changed, every frame is neutral.
    expect(g.svg).not.toMatch(/fill="rgb\(255,\d+,\d+\)"/);
    const c = compareRuns(a, a);
    expect(c.stacks[0].frames_grown).toEqual([]);
    expect(c.histograms).toEqual([]);
  });
});
