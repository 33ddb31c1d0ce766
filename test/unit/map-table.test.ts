import { describe, expect, it } from 'vitest';
import { renderMapTable, terminalLines } from '../../src/cli/map-table.js';

describe('terminal map tables', () => {
  it('aligns keys and right-aligns numeric values', () => {
    expect(renderMapTable({ type: 'map', name: '@', value: { bash: 3, cat: 31, systemd: 1204 } })).toEqual([
      '@[bash]        3',
      '@[cat]        31',
      '@[systemd]  1204',
    ]);
  });

  it('keeps histograms as bpftrace draws them', () => {
    const lines = renderMapTable({ type: 'hist', name: '@h', value: [{ min: 4, max: 7, count: 2 }] });
    expect(lines[1]).toMatch(/^\[4, 8\)\s+2 \|@+\|$/);
  });

  it('replaces a complete map print in the stream and passes other lines through', () => {
    const map = { type: 'map' as const, name: '@x', value: { a: 1, bb: 22 } };
    const out = terminalLines(['hello', '@x[a]: 1', '@x[bb]: 22', 'bye'], 10, new Map([[11, { map, count: 2 }]]));
    expect(out).toEqual(['hello', '@x[a]    1', '@x[bb]  22', 'bye']);
  });
});
