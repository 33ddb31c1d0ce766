import { describe, expect, it } from 'vitest';
import { bpftraceJsonArgv, printsTypes } from '../../src/runtime/bpftrace/command.js';
import { BpftraceJsonDecoder } from '../../src/runtime/bpftrace/json-decoder.js';
import { parseType, typesOfSource, typesOfTypedProgram } from '../../src/runtime/bpftrace/value-types.js';
import { featuresOf, parseVersion, type BpftraceFeatures } from '../../src/runtime/bpftrace/version.js';
import type { Preflight } from '../../src/runtime/environment.js';
import { Execution } from '../../src/runtime/execution.js';
import type { OutputEvent } from '../../src/runtime/output-decoder.js';

const V017 = featuresOf(parseVersion('0.17.0')!);
const V023 = featuresOf(parseVersion('0.23.2')!);
const V024 = featuresOf(parseVersion('0.24.0')!);
const V027 = featuresOf(parseVersion('0.27.1')!);

function decode(features: BpftraceFeatures, stdout: string[], program?: string): { events: OutputEvent[]; lines: string[]; warnings: string[] } {
  const decoder = new BpftraceJsonDecoder(features, { program });
  const events = [...stdout.flatMap((l) => decoder.stdout(l)), ...decoder.end()];
  const lines: string[] = [];
  const warnings: string[] = [];
  for (const e of events) {
    if (e.kind === 'text') lines.push(e.text);
    else if (e.kind === 'map') lines.push(...e.lines);
    else if (e.kind === 'warning') warnings.push(e.text);
  }
  return { events, lines, warnings };
}

/** What bpftrace 0.27.1 printed on stdout for `-f json -d types` (this machine, 2026-12). */
const DUMP_HEAD = [
  '// Functions',
  '// _Bool __session_is_return(void* ctx)',
  '// int __memcmp(const char* mem_left, const char* mem_right, size_t count)',
  '// Variables',
  '// Program',
];
const BUF_PROGRAM = 'BEGIN { $x = buf("hi", 2); @a[0] = buf("hi", 2); @t = (1, buf("hi", 2)); print($x); print((1, $x)); exit(); }';
const BUF_RUN = [
  ...DUMP_HEAD,
  'BEGIN',
  '{',
  '  $x = buf("hi" /* string[3] */, 2 /* int8 */) /* buffer[6] */;',
  '  @a[0 /* int8 */] = buf("hi" /* string[3] */, 2 /* int8 */) /* buffer[6] */;',
  '  @t[(int64)0 /* int8 */ /* int64 */] = (1 /* int8 */, buf("hi" /* string[3] */, 2 /* int8 */) /* buffer[6] */ /* (int8,buffer[6]) */);',
  '  print($x /* buffer[6] */) /* void */;',
  '  print((1 /* int8 */, $x /* buffer[6] */ /* (int8,buffer[6]) */)) /* void */;',
  '  {',
  '    exit() /* void */;',
  '    return;',
  '  } // none',
  '}',
  '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
  '{"type": "value", "data": [104,105]}',
  '{"type": "value", "data": [1,[104,105]]}',
  '{"type": "map", "data": {"@a": {"0": [104,105]}}}',
  '{"type": "map", "data": {"@t": [1,[104,105]]}}',
];

describe('value types JSON does not carry (bpftrace 0.27 with -d types)', () => {
  it('reads the typed program bpftrace prints first, never shows it, and prints buffers as text', () => {
    const { lines } = decode(V027, BUF_RUN, BUF_PROGRAM);
    expect(lines).toEqual(['hi', '(1, hi)', '', '', '@a[0]: hi', '@t: (1, hi)']);
  });

  it('escapes a buffer as text mode does: printable ASCII as it is, other bytes as \\xNN', () => {
    const run = [
      ...DUMP_HEAD,
      'BEGIN',
      '{',
      '  @m[(int64)0 /* int8 */ /* int64 */] = buf("a\\x01" /* string[3] */, 8 /* int8 */) /* buffer[12] */;',
      '}',
      '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
      '{"type": "map", "data": {"@m": [97,1,-1,9,34,92,122,0]}}',
    ];
    expect(decode(V027, run).lines).toEqual(['', '', '@m: a\\x01\\xff\\x09"\\z\\x00']);
  });

  it('tells a tuple of bytes from a buffer by the print() statements, in program order', () => {
    const run = [
      ...DUMP_HEAD,
      'BEGIN',
      '{',
      '  print((104 /* int8 */, 105 /* int8 */ /* (int8,int8) */)) /* void */;',
      '  print(buf("hi" /* string[3] */, 2 /* int8 */) /* buffer[6] */) /* void */;',
      '}',
      '{"type": "value", "data": [104,105]}',
      '{"type": "value", "data": [104,105]}',
    ];
    expect(decode(V027, run).lines).toEqual(['(104, 105)', 'hi']);
  });

  it('prints pointers in hex, enums by name, arrays unspaced, and a record in a map without keys', () => {
    const run = [
      ...DUMP_HEAD,
      'enum Color { RED = 1, GREEN = 2 };',
      'BEGIN',
      '{',
      '  $p = (int8*)0x10 /* int8 */ /* int8 * */;',
      '  print($p /* int8 * */) /* void */;',
      '  print(GREEN /* enum Color */) /* void */;',
      '  @e[(int64)0 /* int8 */ /* int64 */] = RED /* enum Color */;',
      '  @r[(int64)0 /* int8 */ /* int64 */] = (a=(1 /* int8 */), b=("x" /* string[2] */)) /* record { .a = int8, .b = string[2] } */;',
      '  @k[1 /* int8 */] = (x=(3 /* int8 */)) /* record { .x = int8 } */;',
      '  @v[(int64)0 /* int8 */ /* int64 */] = args.args /* uint64[6] */;',
      '}',
      '{"type": "value", "data": 16}',
      '{"type": "value", "data": 2}',
      '{"type": "map", "data": {"@e": 1}}',
      '{"type": "map", "data": {"@k": {"1": {"x": 3}}}}',
      '{"type": "map", "data": {"@r": {"a": 1, "b": "x"}}}',
      '{"type": "map", "data": {"@v": [1,2,3,4,5,"18446744073709551456"]}}',
    ];
    expect(decode(V027, run).lines).toEqual([
      '0x10',
      'GREEN',
      '@e: RED',
      '@k[1]: { .x = 3 }',
      '@r: { .a = 1, .b = x }',
      '@v: [1,2,3,4,5,18446744073709551456]',
    ]);
  });

  it('shows nothing of a typed program whose run failed, and bpftrace output that follows no dump', () => {
    expect(decode(V027, [...DUMP_HEAD, 'BEGIN', '{', '}']).lines).toEqual([]);
    expect(decode(V027, ['{"type": "value", "data": "// Functions"}']).lines).toEqual(['// Functions']);
  });

  it('parses bpftrace type names', () => {
    expect(parseType('(int8,buffer[6])')).toEqual({ kind: 'tuple', elements: [{ kind: 'plain', text: 'int8' }, { kind: 'buffer' }] });
    expect(parseType('record { .a = int8, .b = (string[2],int8 *) }')).toEqual({
      kind: 'record',
      fields: [
        { name: 'a', type: { kind: 'plain', text: 'int8' } },
        { name: 'b', type: { kind: 'tuple', elements: [{ kind: 'plain', text: 'string[2]' }, { kind: 'pointer' }] } },
      ],
    });
    expect(parseType('uint64[6]')).toEqual({ kind: 'array', element: { kind: 'plain', text: 'uint64' } });
    expect(parseType('struct task_struct *')).toEqual({ kind: 'pointer' });
    expect(parseType('string[16]')).toEqual({ kind: 'plain', text: 'string[16]' });
  });

  it('knows which maps hold histograms of which kind, and which have no keys', () => {
    const t = typesOfTypedProgram(
      '_ = lhist(@l /* none */, (int64)0 /* int8 */ /* int64 */, 1 /* int8 */, 0 /* int8 */, 2 /* int8 */, 1 /* int8 */) /* void */;\n' +
        '@s[(int64)0 /* int8 */ /* int64 */] = 1 /* int8 */;\n@k[0 /* int8 */] = 1 /* int8 */;',
    );
    expect(t.maps.get('@l')?.histogram).toBe('lhist');
    expect(t.maps.get('@s')?.scalar).toBe(true);
    expect(t.maps.get('@k')?.scalar).toBe(false);
  });
});

describe('value types guessed from the source (no -d types: before 0.25, or a -c run)', () => {
  it('prints buffers assigned or printed straight from buf() as text (0.24 JSON)', () => {
    const program = 'BEGIN { $b = buf("hi", 2); print($b); @a = $b; @k[1] = buf("ok", 2); print((1, 2)); exit(); }';
    const run = [
      '{"type": "value", "data": [104,105]}',
      '{"type": "value", "data": [1,2]}',
      '{"type": "map", "data": {"@a": [104,105]}}',
      '{"type": "map", "data": {"@k": {"1": [111,107]}}}',
    ];
    expect(decode(V024, run, program).lines).toEqual(['hi', '(1, 2)', '@a: hi', '@k[1]: ok']);
  });

  it('labels lhist buckets as lhist() does though their bounds look like log2 buckets (0.17, 0.23)', () => {
    const program = 'BEGIN { @l = lhist(0, 0, 2, 1); @l = lhist(1, 0, 2, 1); exit(); }';
    const line = '{"type": "hist", "data": {"@l": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}]}}';
    for (const features of [V017, V023]) {
      const labels = decode(features, [line], program).lines.filter((l) => l.startsWith('['));
      expect(labels.map((l) => l.slice(0, 6))).toEqual(['[0, 1)', '[1, 2)']);
    }
  });

  it('prints enum constants by name from the program’s own enum (0.23)', () => {
    const program = 'enum Color { RED = 1, GREEN } BEGIN { print(GREEN); @e = RED; exit(); }';
    expect(typesOfSource(program).enums.get('Color')).toEqual(
      new Map([
        [1n, 'RED'],
        [2n, 'GREEN'],
      ]),
    );
    expect(decode(V023, ['{"type": "value", "data": 2}', '{"type": "map", "data": {"@e": 1}}'], program).lines).toEqual(['GREEN', '@e: RED']);
  });
});

describe('a line bpftrace wrote as invalid JSON is never lost', () => {
  it('recovers 0.17 cgroup_path() values written without quotes, with a warning', () => {
    const path = 'unified:/,blkio:/,cpu:/,memory:/';
    for (const features of [V017, V023, V027]) {
      const { lines, warnings } = decode(features, [`{"type": "value", "data": ${path}}`, `{"type": "map", "data": {"@c": ${path}}}`]);
      expect(lines.filter((l) => l !== '')).toEqual([path, `@c: ${path}`]);
      expect(warnings).toEqual([expect.stringContaining('without quotes'), expect.stringContaining('without quotes')]);
    }
  });

  it('shows any other undecodable line as bpftrace wrote it, with a warning, on every version', () => {
    const broken = '{"type": "printf", "data": "unterminated';
    for (const features of [V017, V023, V027]) {
      const { events, lines, warnings } = decode(features, [broken]);
      expect(lines).toEqual([broken]);
      expect(warnings).toEqual([expect.stringContaining(broken)]);
      expect(events.some((e) => e.kind === 'stderr')).toBe(false);
    }
  });

  it('keeps the warning with the run', () => {
    const exec = new Execution('x', 'bpftrace', { max_lines: 100, max_bytes: 100_000 }, 'x');
    for (const e of new BpftraceJsonDecoder(V017).stdout('{"type": "value", "data": unified:/,cpu:/}')) exec.apply(e);
    expect(exec.runWarnings).toEqual([expect.stringContaining('cgroup_path')]);
  });
});

describe('the argv asks for the types only where the decoder can read them', () => {
  const pre = (features: BpftraceFeatures) => ({ bpftrace: '/usr/bin/bpftrace', privilegePrefix: [], features }) as unknown as Preflight;

  it('adds -d types from 0.25 on, not before, and not when the trace goes to a file (-c ... -o FIFO)', () => {
    expect(bpftraceJsonArgv(pre(V027), ['-e', 'BEGIN {}']).slice(-6)).toEqual(['-f', 'json', '-d', 'types', '-e', 'BEGIN {}']);
    expect(bpftraceJsonArgv(pre(V023), ['-e', 'BEGIN {}'])).not.toContain('types');
    expect(bpftraceJsonArgv(pre(V024), ['-e', 'BEGIN {}'])).not.toContain('types');
    expect(printsTypes(V027, ['-c', '/bin/true', '-o', '/tmp/x/trace', '-e', 'BEGIN {}'])).toBe(false);
    // A positional parameter "-o" after the program is no option.
    expect(printsTypes(V027, ['-e', 'BEGIN {}', '--', '-o'])).toBe(true);
  });
});

describe('maps print()ed and then cleared (0.27 prints nothing for them at exit)', () => {
  it('places text mode’s exit blank lines after the print, as the typed program shows it is no exit print', () => {
    const run = [
      ...DUMP_HEAD,
      'BEGIN',
      '{',
      '  _ = sum(@m /* none */, "a" /* string[2] */, 1 /* int8 */) /* void */;',
      '  print(@m /* none */, 2 /* int8 */) /* void */;',
      '  clear(@m /* none */) /* void */;',
      '  {',
      '    exit() /* void */;',
      '    return;',
      '  } // none',
      '}',
      '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
      '{"type": "map", "data": {"@m": {"a": 1}}}',
    ];
    expect(decode(V027, run).lines).toEqual(['@m[a]: 1', '', '']);
  });

  it('still takes a print of a map cleared only under a condition as the exit’s', () => {
    const run = [
      ...DUMP_HEAD,
      'BEGIN',
      '{',
      '  @x[1 /* int8 */] = 2 /* int8 */;',
      '  if (true /* bool */) {',
      '    clear(@x /* none */) /* void */;',
      '  } // none',
      '}',
      '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
      '{"type": "map", "data": {"@x": {"1": 2}}}',
    ];
    expect(decode(V027, run).lines).toEqual(['', '', '@x[1]: 2']);
  });
});

describe('0.23 booleans', () => {
  it('names true and false, which 0.23 takes as enum constants and writes as 1 and 0', () => {
    const program = 'BEGIN { print(true); @b = false; @c[true] = 1; exit(); }';
    const run = ['{"type": "value", "data": 1}', '{"type": "map", "data": {"@b": 0}}', '{"type": "map", "data": {"@c": {"1": 1}}}'];
    expect(decode(V023, run, program).lines).toEqual(['true', '@b: false', '@c[true]: 1']);
    // A comparison is an integer there: printed as its value.
    expect(decode(V023, ['{"type": "value", "data": 1}'], 'BEGIN { print(1 == 1); }').lines).toEqual(['1']);
  });
});
