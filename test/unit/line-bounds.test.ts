import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/config/defaults.js';
import { BpftraceJsonDecoder } from '../../src/runtime/bpftrace/json-decoder.js';
import { featuresOf, OLDEST_SUPPORTED } from '../../src/runtime/bpftrace/version.js';
import { pumpLines } from '../../src/runtime/process-lifecycle.js';

// printf without a newline, for minutes: each event once re-split everything pending.
describe('output without newlines', () => {
  it('the JSON decoder keeps linear time and cuts a line that never ends at MAX_LINE_BYTES', () => {
    const d = new BpftraceJsonDecoder(featuresOf(OLDEST_SUPPORTED));
    const event = JSON.stringify({ type: 'printf', data: 'x'.repeat(100) });
    const texts: string[] = [];
    const n = Math.ceil(MAX_LINE_BYTES / 100) * 3 + 7;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) for (const ev of d.stdout(event)) if (ev.kind === 'text') texts.push(ev.text);
    for (const ev of d.end()) if (ev.kind === 'text') texts.push(ev.text);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(texts.slice(0, 3).map((t) => t.length)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES, MAX_LINE_BYTES]);
    expect(texts.join('').length).toBe(n * 100);
    // Not a timing assertion on speed: a quadratic decoder takes minutes here, not seconds.
    expect(ms).toBeLessThan(60_000);
  });

  it('pumpLines scans each chunk once, cuts an endless line, and keeps every byte', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = pumpLines(
      stream,
      (l) => lines.push(l),
      () => undefined,
      1000,
    );
    for (let i = 0; i < 25; i++) stream.write('y'.repeat(100));
    stream.write('end\nnext line\r\ntail');
    stream.end();
    await done;
    expect(lines.map((l) => l.length)).toEqual([1000, 1000, 503, 9, 4]);
    expect(lines.slice(-2)).toEqual(['next line', 'tail']);
  });
});

// A map of 65,536 keys is one JSON line of several MiB: cut at 1 MiB, it became fragments of
// JSON in the output (`013": 48671, "48672146016": …`).
describe('event lines (bpftrace -f json)', () => {
  const pump = async (writes: string[], maxLine: number) => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const skipped: number[] = [];
    const done = pumpLines(
      stream,
      (l) => lines.push(l),
      () => undefined,
      { maxLine, tooLong: (n) => skipped.push(n) },
    );
    for (const w of writes) stream.write(w);
    stream.end();
    await done;
    return { lines, skipped };
  };

  it('a line under the bound arrives whole however many chunks it spans', async () => {
    const event = JSON.stringify({ type: 'map', data: { '@': Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [String(i * 1000003), i])) } });
    const chunks = event.match(/[\s\S]{1,4096}/g)!;
    const { lines, skipped } = await pump([...chunks, '\n', '{"type": "value", "data": 1}\n'], event.length + 1);
    expect(lines).toEqual([event, '{"type": "value", "data": 1}']);
    expect(skipped).toEqual([]);
    expect(Object.keys(JSON.parse(lines[0]).data['@'])).toHaveLength(5000);
  });

  it('a line over the bound is skipped whole and reported, never emitted in fragments', async () => {
    const long = `{"type": "map", "data": {"@": "${'z'.repeat(3000)}"}}`;
    const { lines, skipped } = await pump(
      ['{"type": "value", "data": 0}\n', long.slice(0, 1000), long.slice(1000), '\n', '{"type": "value", "data": 2}\n', long, '\n'],
      1000,
    );
    expect(lines).toEqual(['{"type": "value", "data": 0}', '{"type": "value", "data": 2}']);
    expect(skipped).toEqual([long.length, long.length]);
  });

  it('a line over the bound that never ends is reported at the end of the stream', async () => {
    const { lines, skipped } = await pump(['ok\n', 'y'.repeat(2500)], 1000);
    expect(lines).toEqual(['ok']);
    expect(skipped).toEqual([2500]);
  });
});
