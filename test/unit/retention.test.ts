import { describe, expect, it } from 'vitest';
import { Execution } from '../../src/runtime/execution.js';

describe('the retention budget', () => {
  it("counts a run's typed maps, not only its output lines", () => {
    // A map that does not fit the line cap is kept typed, and still costs memory.
    const e = new Execution('exec-test', 'exec_program', { max_lines: 1, max_bytes: 1024 }, 'bpftrace');
    const lines = Array.from({ length: 5000 }, (_, i) => `@m[${i}]: ${i}`);
    const textBytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const value = Object.fromEntries(lines.map((_, i) => [String(i), i]));
    e.pushMap({ type: 'map', name: '@m', value }, lines);
    expect(e.lines).toHaveLength(0);
    expect(e.storedBytes).toBeGreaterThanOrEqual(textBytes * 4);
    // A later print of the same map replaces the earlier one in the count.
    e.pushMap({ type: 'map', name: '@m', value: { 1: 1 } }, ['@m[1]: 1']);
    expect(e.storedBytes).toBeLessThan(100);
  });
});
