import { afterEach, describe, expect, it, vi } from 'vitest';
import { executionView, renderExecutionText } from '../../src/results/execution-view.js';
import { Execution } from '../../src/runtime/execution.js';

/** A run that started at t=1000 ms and completed at t=1250 ms with exit code 0. */
function finished(): Execution {
  vi.useFakeTimers({ now: 1_000 });
  const e = new Execution('exec-t1', 'exec_program', { max_lines: 100, max_bytes: 10_000 }, 'bpftrace -e ...');
  e.started(42);
  e.exited(0, null);
  vi.setSystemTime(1_250);
  e.finish('completed');
  return e;
}
afterEach(() => {
  vi.useRealTimers();
});

describe('execution view', () => {
  it('warns when a map reached BPFTRACE_MAP_KEYS_MAX, where bpftrace drops keys silently', () => {
    const e = finished();
    const value = Object.fromEntries(Array.from({ length: 65536 }, (_, i) => [String(i), 1]));
    e.pushMap({ type: 'map', name: '@bypid', value }, ['@bypid[0]: 1']);
    const v = executionView(e) as { warnings: string[] };
    expect(v.warnings).toHaveLength(1);
    expect(v.warnings[0]).toMatch(/^map @bypid holds 65536 keys, the BPFTRACE_MAP_KEYS_MAX limit/);
    expect(renderExecutionText(v)).toContain('-- warning: map @bypid holds 65536 keys');
  });

  it('an offset past the end is an empty page with the totals', () => {
    const e = finished();
    e.pushLine('a');
    e.pushLine('b');
    const v = executionView(e, { offset: 10 }) as Record<string, unknown>;
    expect(v).toMatchObject({ output: [], lines_total: 2, has_more: false, next_offset: 2, duration: 0.25, warnings: [] });
  });

  it('tells the caller how to get the next page', () => {
    const e = finished();
    for (let i = 0; i < 5; i++) e.pushLine(`l${i}`);
    const text = renderExecutionText(executionView(e, { offset: 0, limit: 2 }));
    expect(text).toBe(
      'exec-t1 (exec_program): completed after 0.25 s, exit code 0\n\nl0\nl1\n\n-- lines 0-1 of 5; call get_result with execution_id "exec-t1" and offset 2 for more',
    );
  });
});

describe('include_maps within one answer', () => {
  it('keeps every map whole that fits, names the rest in maps_omitted, and never cuts one', () => {
    const e = finished();
    const big = (n: number, scale: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i * scale), i * 1_000_000_007]));
    e.pushMap({ type: 'map', name: '@small', value: { a: 1 } }, ['@small[a]: 1']);
    e.pushMap({ type: 'map', name: '@huge', value: big(120_000, 1_000_003) }, ['@huge[0]: 0']);
    e.pushMap({ type: 'map', name: '@mid', value: big(60_000, 1_000_033) }, ['@mid[0]: 0']);
    const v = executionView(e, { includeMaps: true }) as {
      maps: Record<string, { value: Record<string, number> }>;
      maps_omitted: { name: string; keys: number; bytes: number }[];
      warnings: string[];
    };
    expect(Object.keys(v.maps)).toEqual(['@small', '@mid']);
    expect(Object.keys(v.maps['@mid'].value)).toHaveLength(60_000);
    expect(v.maps_omitted).toEqual([{ name: '@huge', type: 'map', keys: 120_000, bytes: JSON.stringify(big(120_000, 1_000_003)).length }]);
    expect(v.warnings.join('\n')).toContain('map @huge (120000 keys');
    expect(v.warnings.join('\n')).toContain('never cut');
  });

  it('says nothing when every map fits', () => {
    const e = finished();
    e.pushMap({ type: 'map', name: '@m', value: { '1': 2 } }, ['@m[1]: 2']);
    const v = executionView(e, { includeMaps: true }) as Record<string, unknown>;
    expect(v.maps).toEqual({ '@m': { type: 'map', value: { '1': 2 } } });
    expect(v.maps_omitted).toBeUndefined();
    expect(v.warnings).toEqual([]);
  });
});
