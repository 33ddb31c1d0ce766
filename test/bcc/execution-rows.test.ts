import { describe, expect, it } from 'vitest';
import { BccTextDecoder } from '../../src/kinds/bcc/parsers/decoder.js';
import { executionView } from '../../src/results/execution-view.js';
import { Execution } from '../../src/runtime/execution.js';

// Rows follow their lines: the same page (offset, limit) and the same output cap. Histograms
// are kept whole even when their lines are cut by the cap.
const COLUMNS = { PID: 'int', COMM: 'string', PATH: 'string' } as const;

function feed(lines: string[], maxLines: number, histograms = false): Execution {
  const e = new Execution('exec-t', 'opensnoop', { max_lines: maxLines, max_bytes: 1 << 20 }, 'opensnoop');
  const dec = new BccTextDecoder('opensnoop', { columns: { ...COLUMNS }, histograms });
  for (const l of lines) for (const ev of dec.stdout(l)) e.apply(ev);
  for (const ev of dec.end()) e.apply(ev);
  e.finish('completed');
  return e;
}

const table = ['Tracing...', 'PID COMM PATH', ...Array.from({ length: 10 }, (_, i) => `${100 + i} cat /etc/f${i}`)];

describe('rows in results', () => {
  it('pages rows with their lines', () => {
    const e = feed(table, 1000);
    const page = executionView(e, { offset: 4, limit: 3 });
    expect(page.output).toEqual(['102 cat /etc/f2', '103 cat /etc/f3', '104 cat /etc/f4']);
    expect(page.rows).toEqual([
      { pid: 102, comm: 'cat', path: '/etc/f2' },
      { pid: 103, comm: 'cat', path: '/etc/f3' },
      { pid: 104, comm: 'cat', path: '/etc/f4' },
    ]);
    expect(page.columns).toEqual([
      { name: 'pid', type: 'int' },
      { name: 'comm', type: 'string' },
      { name: 'path', type: 'string' },
    ]);
    expect(executionView(e, { offset: 0, limit: 2 }).rows).toEqual([]);
  });

  it('drops rows past the output cap with their lines, and counts them', () => {
    const e = feed(table, 5);
    const v = executionView(e, { limit: 100 });
    expect(v.rows?.map((r) => r.pid)).toEqual([100, 101, 102]);
    expect(v.dropped.lines).toBe(7);
  });

  it('keeps a histogram whole when its lines are cut', () => {
    const hist = ['     usecs               : count    distribution', ...[0, 1, 2, 3].map((i) => `  ${2 ** i} -> ${2 ** (i + 1) - 1}  : ${i}  |**  |`)];
    const e = feed(['Tracing...', ...hist], 3, true);
    const v = executionView(e, {});
    expect(v.output.length).toBe(3);
    expect(v.histograms?.[0].buckets.map((b) => b.count)).toEqual([0, 1, 2, 3]);
    expect(v.rows).toBeUndefined();
  });
});
