import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Execution } from '../../src/runtime/execution.js';
import { OutputFiles } from '../../src/runtime/output-files.js';

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `line ${from + i} ${'é'.repeat(i % 3)}`);

describe('file-backed output', () => {
  it('reads any page back exactly, across checkpoints and unflushed lines', () => {
    const files = new OutputFiles(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-test-')));
    const f = files.open('exec-1');
    const all = lines(5000);
    for (let i = 0; i < all.length; i += 7) f.write(all.slice(i, i + 7));
    expect(f.lines).toBe(5000);
    for (const [offset, limit] of [
      [0, 3],
      [1023, 3],
      [1024, 1],
      [2047, 1500],
      [4998, 10],
      [5000, 10],
    ]) {
      expect(f.read(offset, limit)).toEqual(all.slice(offset, offset + limit));
    }
    f.write(['after a read']);
    expect(f.read(5000, 5)).toEqual(['after a read']);
    expect(readFileSync(f.file, 'utf8').split('\n').length).toBe(5002);
    files.remove('exec-1');
    expect(existsSync(f.file)).toBe(false);
    const dir = files.directory!;
    files.removeAll();
    expect(existsSync(dir)).toBe(false);
  });

  it('starts the file at the first cut line, with every line before it, and keeps memory capped', () => {
    const files = new OutputFiles(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-test-')));
    const e = new Execution('exec-2', 't', { max_lines: 3, max_bytes: 1 << 20 }, 'bpftrace');
    e.overflow = () => files.open(e.id);
    e.apply({ kind: 'text', text: 'a' });
    e.apply({ kind: 'text', text: 'b' });
    expect(e.overflowLines).toBeUndefined();
    for (const t of ['c', 'd', 'e']) e.apply({ kind: 'text', text: t });
    expect(e.lines).toEqual(['a', 'b', 'c']);
    expect(e.overflowLines).toBe(5);
    expect(files.get('exec-2')!.read(0, 10)).toEqual(['a', 'b', 'c', 'd', 'e']);
    files.removeAll();
  });
});
