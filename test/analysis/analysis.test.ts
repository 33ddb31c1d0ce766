import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, AnalysisError, type AnalysisResult } from '../../src/analysis/analyze.js';
import { analyzeBuckets, percentile } from '../../src/analysis/histogram.js';
import { sourceFromSavedText } from '../../src/analysis/saved-output.js';
import type { AnalysisSource } from '../../src/analysis/model.js';

/**
 * Golden analyses of real runs recorded on this machine (test/fixtures/analysis/record.sh runs
 * bpftrace 0.17 with -f json): each fixture is decoded as a live run's output is, analysed, and
 * compared with its committed `.analysis.json`. UPDATE_GOLDEN=1 rewrites them after a reviewed
 * change. Beside the goldens, properties that hold whatever the data: shares add up, estimates
 * lie in their buckets, every number of the summary is a field of the result.
 */
const DIR = path.join(__dirname, '..', 'fixtures', 'analysis');
const FIXTURES = [
  'syscall-count',
  'read-size-hist',
  'kstack-profile',
  'interval-rate',
  'interval-rate.exec',
  'interval-keyed.exec',
  'kstack-profile.exec',
  'printf-stream',
  'read-latency-stats',
];

export const loadFixture = (name: string): AnalysisSource => sourceFromSavedText(name, readFileSync(path.join(DIR, `${name}.json`), 'utf8'));

/** Every number the summary quotes, each of which must be a value somewhere in the result. */
function untraceable(r: AnalysisResult): string[] {
  const values = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'number') values.add(String(v));
    else if (typeof v === 'string') for (const m of v.matchAll(/-?\d+(\.\d+)?/g)) values.add(m[0]);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'summary') continue;
        walk(x);
        walk(k);
      }
    }
  };
  walk(r);
  return [...r.summary.matchAll(/-?\d+(\.\d+)?/g)].map((m) => m[0]).filter((n) => !values.has(n));
}

describe('golden analyses of recorded runs', () => {
  for (const name of FIXTURES) {
    it(name, async () => {
      const { result } = await analyze(loadFixture(name));
      const golden = path.join(DIR, `${name}.analysis.json`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, `${JSON.stringify(result, null, 2)}\n`);
      expect(result).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
      expect(untraceable(result)).toEqual([]);
    });
  }
});

describe('what each recorded run shows', () => {
  it('syscall count: top keys sorted, shares of the real total', async () => {
    const { result } = await analyze(loadFixture('syscall-count'));
    const c = result.counts[0];
    expect(c.map).toBe('@syscalls');
    const values = c.top.map((t) => t.value);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    for (const t of c.top) expect(t.share_percent).toBeCloseTo((100 * t.value) / c.total, 1);
    expect(c.keys).toBe(Object.keys(loadFixture('syscall-count').maps[0].value as object).length);
  });

  it('read-size histogram: percentiles ordered and inside their buckets, method stated', async () => {
    const { result } = await analyze(loadFixture('read-size-hist'));
    const h = result.histograms.find((x) => x.map === '@bytes')!;
    expect(h.scale).toBe('log2');
    expect(result.histograms.find((x) => x.map === '@lbytes')!.scale).toBe('linear');
    expect(h.p50!.value).toBeLessThanOrEqual(h.p90!.value);
    expect(h.p90!.value).toBeLessThanOrEqual(h.p99!.value);
    for (const p of [h.p50!, h.p90!, h.p99!]) {
      expect(p.value).toBeGreaterThanOrEqual(p.low!);
      expect(p.value).toBeLessThanOrEqual(p.high! + 1);
    }
    expect(h.method).toMatch(/interpolated linearly/);
  });

  it('profile: stack samples counted, empty stacks reported apart', async () => {
    const src = loadFixture('kstack-profile');
    const { result } = await analyze(src);
    const s = result.stacks[0];
    const raw = Object.values(src.maps[0].value as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(s.samples).toBe(raw);
    expect(s.top_leaf_frames[0].samples).toBeGreaterThan(0);
    expect(s.top_leaf_frames.every((f) => !/\+\d+$/.test(f.frame))).toBe(true);
  });

  it('stacks in tuple keys: comm is the root frame whichever side of the stack it is printed', async () => {
    const src = loadFixture('tuple-stacks');
    const { detail } = await analyze(src);
    const [byComm, stackFirst] = detail.folded;
    expect([byComm.map, stackFirst.map]).toEqual(['@bycomm', '@stackfirst']);
    expect(new Map([...stackFirst.stacks].sort())).toEqual(new Map([...byComm.stacks].sort()));
    const comms = new Set(Object.keys(src.maps.find((m) => m.name === '@bycomm')!.value as object).map((k) => k.split(',')[0]));
    for (const s of byComm.stacks.keys()) expect(comms.has(s.split(';')[0])).toBe(true);
    expect([...byComm.stacks.keys()].every((s) => !/\+\d+/.test(s))).toBe(true);
  });

  it('interval rate: the six interval prints form the series, the exit print is left out', async () => {
    const { result } = await analyze(loadFixture('interval-rate'));
    const s = result.series[0];
    expect(s.points).toHaveLength(6);
    expect(s.cumulative).toBe(false);
    expect(s.min).toBe(Math.min(...s.points));
    expect(['rising', 'falling', 'flat']).toContain(s.trend.direction);
  });

  it('a run saved with `mcptrace exec --json` keeps its series: the printed lines are the points', async () => {
    const saved = JSON.parse(readFileSync(path.join(DIR, 'interval-rate.exec.json'), 'utf8'));
    const printed = (saved.output as string[]).slice(1, 7).map((l) => Number(l.replace('@: ', '')));
    const { result } = await analyze(loadFixture('interval-rate.exec'));
    expect(result.series.map((s) => s.points)).toEqual([printed]);
    expect(result.duration).toBe(saved.duration);
    expect(result.events).toBeNull();
  });

  it("a saved keyed interval run: one series per top key, each point the key's value in that interval's print", async () => {
    const saved = JSON.parse(readFileSync(path.join(DIR, 'interval-keyed.exec.json'), 'utf8'));
    const { result } = await analyze(loadFixture('interval-keyed.exec'));
    expect(result.series.length).toBeGreaterThan(1);
    // bpftrace was counted in every interval: its nine interval prints, then one at exit.
    const printed = (saved.output as string[]).filter((l) => l.startsWith('@[bpftrace]: ')).map((l) => Number(l.split(': ')[1]));
    expect(printed).toHaveLength(10);
    expect(result.series.find((s) => s.key === 'bpftrace')!.points).toEqual(printed.slice(0, 9));
  });

  it('a saved profile (--include-maps) folds the same stacks as the live decoder', async () => {
    const { result, detail } = await analyze(loadFixture('kstack-profile.exec'));
    expect(result.stacks[0].samples).toBe(
      Object.values(JSON.parse(readFileSync(path.join(DIR, 'kstack-profile.exec.json'), 'utf8')).maps['@'].value as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      ),
    );
    expect(detail.folded[0].stacks.size).toBe(result.stacks[0].distinct_stacks);
  });

  it('printf stream: columns found and typed (pid, comm, path)', async () => {
    const { result } = await analyze(loadFixture('printf-stream'));
    expect(result.events!.columns.map((c) => c.role)).toEqual(['pid', 'comm', 'path']);
    expect(result.events!.rows).toBeGreaterThan(100);
    expect(result.events!.unparsed).toBe(0);
  });

  it('focus narrows to one map, and an unknown focus is an error that lists the maps', async () => {
    const { result } = await analyze(loadFixture('read-size-hist'), { focus: '@lbytes' });
    expect(result.histograms.map((h) => h.map)).toEqual(['@lbytes']);
    await expect(analyze(loadFixture('read-size-hist'), { focus: '@nope' })).rejects.toThrow(AnalysisError);
    await expect(analyze(loadFixture('read-size-hist'), { focus: '@nope' })).rejects.toThrow(/Maps: @bytes, @lbytes/);
  });
});

describe('bcc shapes (columns, rows, histograms) as the bcc kind will fill them', () => {
  const bcc: AnalysisSource = {
    id: 'bcc-1',
    tool: 'biolatency',
    maps: [],
    prints: [],
    text: [],
    columns: [
      { name: 'PID', type: 'int' },
      { name: 'COMM', type: 'string' },
      { name: 'LAT(ms)', type: 'float' },
    ],
    rows: Array.from({ length: 40 }, (_, i) => ({ PID: 100 + (i % 3), COMM: ['dd', 'cat', 'dd'][i % 3], 'LAT(ms)': i + 0.5 })),
    histograms: [
      {
        name: 'usecs',
        unit: 'usecs',
        buckets: [
          { low: 0, high: 1, count: 0 },
          { low: 2, high: 3, count: 40 },
          { low: 4, high: 7, count: 2 },
          { low: 8, high: 15, count: 1 },
          { low: 16, high: 31, count: 30 },
        ],
      },
    ],
  };
  it('rows aggregate by column role, histograms like bpftrace hists', async () => {
    const { result } = await analyze(bcc);
    const [pid, comm, lat] = result.events!.columns;
    expect(pid.role).toBe('pid');
    expect(comm.top![0]).toEqual({ value: 'dd', count: 27, share_percent: 67.5 });
    expect(lat.numeric).toMatchObject({ count: 40, min: 0.5, max: 39.5, p50: 19.5 });
    const h = result.histograms[0];
    expect(h).toMatchObject({ map: 'usecs', unit: 'usecs', total: 73, bimodal: true });
    expect(h.p50).toEqual({ value: expect.any(Number), low: 2, high: 3 });
    expect(untraceable(result)).toEqual([]);
  });
});

describe('percentiles from buckets', () => {
  it('interpolates within the bucket by rank', () => {
    const b = [
      { low: 0, high: 9, count: 10 },
      { low: 10, high: 19, count: 10 },
    ];
    // Rank 10 of 20 is the last of the first bucket: 0 + (9.5/10) * 10.
    expect(percentile(b, 20, 0.5)).toEqual({ value: 9.5, low: 0, high: 9 });
    expect(analyzeBuckets(b).max).toBe(19);
  });
  it('an open bucket gives its known bound; an empty histogram has none', () => {
    expect(percentile([{ low: 100, high: null, count: 3 }], 3, 0.99)).toEqual({ value: 100, low: 100, high: null });
    expect(analyzeBuckets([{ low: 0, high: 0, count: 0 }]).p50).toBeNull();
  });
  it('one peak is not bimodal; two peaks with a valley are', () => {
    const one = [1, 5, 20, 5, 1].map((count, i) => ({ low: i * 10, high: i * 10 + 9, count }));
    const two = [20, 2, 0, 3, 25].map((count, i) => ({ low: i * 10, high: i * 10 + 9, count }));
    expect(analyzeBuckets(one).bimodal).toBe(false);
    expect(analyzeBuckets(two).bimodal).toBe(true);
  });
});
