import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { identifierLiteral, integerLiteral, stringLiteral } from '../../src/kinds/template/bpftrace-literals.js';
import { checkTemplate } from '../../src/kinds/template/template-engine.js';

const TEMPLATE = path.join(__dirname, '../../templates/count_syscalls.bt.hbs');
const GOLDEN = path.join(__dirname, '../fixtures/rendered');

function render(input: Record<string, unknown>): string {
  const { render: r, problems } = checkTemplate(readFileSync(TEMPLATE, 'utf8'), TEMPLATE, ['pid', 'comm', 'uid', 'cgroup', 'duration']);
  expect(problems).toEqual([]);
  return r!(input);
}

describe('bpftrace literals', () => {
  it('escapes quotes and backslashes in strings', () => {
    expect(stringLiteral('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
  it('refuses control characters with the code point', () => {
    expect(() => stringLiteral('a\nb')).toThrow('contains control character U+000a; remove it');
  });
  it('accepts only safe integers and identifiers', () => {
    expect(integerLiteral(42)).toBe('42');
    expect(() => integerLiteral('42')).toThrow('expected an integer');
    expect(() => integerLiteral(1.5)).toThrow('expected an integer');
    expect(identifierLiteral('my_map')).toBe('my_map');
    expect(() => identifierLiteral('x; exit()')).toThrow('expected an identifier');
  });
});

describe('count_syscalls template', () => {
  it('renders the golden program for pid + comm', () => {
    expect(render({ pid: 1234, comm: 'nginx', duration: 3 })).toBe(readFileSync(path.join(GOLDEN, 'count_syscalls.pid-comm.bt'), 'utf8'));
  });

  it('keeps a hostile comm inside one string literal', () => {
    const hostile = 'x" || 1 /{ system("id"); }';
    const out = render({ comm: hostile, duration: 1 });
    // The value appears exactly once, escaped, and adds no probe, block or predicate.
    expect(out).toContain('comm == "x\\" || 1 /{ system(\\"id\\"); }"');
    const stripped = out.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    expect(stripped.match(/{/g)?.length).toBe(render({ duration: 1 }).match(/{/g)?.length);
    expect(stripped).not.toContain('system');
  });

  it('refuses a non-integer pid even if schema validation were bypassed', () => {
    expect(() => render({ pid: '1 || 1', duration: 1 })).toThrow('expected an integer');
  });
});
