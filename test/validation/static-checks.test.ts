import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPolicy, refusalText } from '../../src/policy/policy.js';
import { parseCompilerOutput } from '../../src/validation/taxonomy.js';
import { findCalls, tokenize } from '../../src/validation/tokens.js';
import { analyzeProgram } from '../../src/validation/validator.js';

const calls = (program: string) => findCalls(tokenize(program).tokens).map((c) => c.name);

describe('tokens: a call is found across whitespace, comments and newlines, never in text', () => {
  it('finds a call whose name and parenthesis are split by a comment or a newline', () => {
    expect(calls('BEGIN { system /* x */ ("id"); }')).toContain('system');
    expect(calls('BEGIN { system\n\n("id"); }')).toContain('system');
    expect(calls('BEGIN { system // c\n ("id"); }')).toContain('system');
  });

  it('ignores the name in a comment, a string, a longer identifier and a field access', () => {
    expect(calls('// system("id")\nBEGIN { printf("system(1)\\n"); /* system(2) */ }')).toEqual(['printf']);
    expect(calls('BEGIN { mysystem(1); system_x(2); }')).not.toContain('system');
    expect(calls('BEGIN { $t = args->signal(1); }')).not.toContain('signal');
  });

  it('any mix of blanks and comments between a name and "(" still makes a call (property)', () => {
    const gap = fc.array(fc.constantFrom(' ', '\n', '\t', '/* c */', '// c\n', '/**/'), { maxLength: 6 }).map((a) => a.join(''));
    fc.assert(fc.property(gap, gap, (a, b) => calls(`BEGIN {${a}system${b}("id"); }`).includes('system')));
  });

  it('keeps the arguments of a call, with string contents', () => {
    const [cat] = findCalls(tokenize('BEGIN { cat("/etc/%s", "x"); }').tokens);
    expect(cat.args.map((a) => a.map((t) => t.text))).toEqual([['/etc/%s'], ['x']]);
  });

  it('extracts attach points, with uprobe paths, lists, predicates and line numbers', () => {
    const a = analyzeProgram('uprobe:/bin/bash:readline,\nt:syscalls:sys_enter_open* /pid == 1/ { @ = count(); }\ninterval:s:1 { exit(); }');
    expect(a.probes.map((p) => [p.text, p.type, p.line, p.filtered])).toEqual([
      ['uprobe:/bin/bash:readline', 'uprobe', 1, true],
      ['t:syscalls:sys_enter_open*', 'tracepoint', 2, true],
      ['interval:s:1', 'interval', 3, false],
    ]);
  });

  it('reports an unterminated string with its place', () => {
    expect(tokenize('BEGIN {\n printf("hi); }').problems).toEqual([{ message: expect.stringContaining('unterminated string'), line: 2, col: 9 }]);
  });
});

interface Recorded {
  version: string;
  name: string;
  program: string;
  file: string;
  exit: number;
  stderr: string;
}
const recorded = (parse(readFileSync(path.join(__dirname, '../fixtures/validation/compile-stderr.yaml'), 'utf8')) as { recorded: Recorded[] }).recorded;

// What each recorded failure must parse to on every version; recorded from real runs by
// test/fixtures/validation/record.mjs (0.17 aborts on a probe-type typo and names no place).
const EXPECTED: Record<string, { category: string; line: number | null }> = {
  'tracepoint-typo': { category: 'unknown_probe', line: 1 },
  'wrong-category': { category: 'unknown_probe', line: 1 },
  'probe-type-typo': { category: 'unknown_probe', line: null },
  'syntax-eof': { category: 'syntax', line: 1 },
  'unknown-function': { category: 'unknown_function', line: 1 },
  'struct-field': { category: 'type', line: 1 },
  'tracepoint-arg': { category: 'argument', line: 1 },
  'map-arity': { category: 'map', line: 1 },
  'unsafe-system': { category: 'unsafe', line: 1 },
  include: { category: 'environment', line: null },
  'undefined-identifier': { category: 'unknown_function', line: 1 },
};

describe("taxonomy: every version's recorded error format", () => {
  for (const r of recorded) {
    it(`${r.version} ${r.name}`, () => {
      const { errors } = parseCompilerOutput(r.stderr, r.file);
      expect(errors.length).toBeGreaterThan(0);
      const want = EXPECTED[r.name];
      expect(errors[0].category).toBe(want.category);
      if (want.line === null && r.version === '0.17') expect(errors[0].line).toBeNull();
      if (want.line !== null) {
        expect(errors[0].line).toBe(want.line);
        expect(errors[0].snippet).toContain(r.program.split('\n')[0].slice(0, 10));
      }
      // The harmless RLIMIT_MEMLOCK line and machine-wide warnings never become errors.
      expect(errors.some((e) => /RLIMIT_MEMLOCK|available_filter_functions/.test(e.message))).toBe(false);
    });
  }

  it("keeps bpftrace's own hints: 0.17's Did you mean, 0.24's HINT lines", () => {
    const wrong = recorded.find((r) => r.version === '0.17' && r.name === 'wrong-category')!;
    expect(parseCompilerOutput(wrong.stderr, wrong.file).errors[0].hints).toEqual(['Did you mean syscalls:sys_enter_openat?']);
    const hinted = 'stdin:1:9-14: ERROR: Unknown function: foo\nBEGIN { foo(); }\n        ~~~~~\nHINT: did you mean bar?';
    expect(parseCompilerOutput(hinted, 'stdin').errors[0].hints).toEqual(['did you mean bar?']);
  });

  it('a failure with no recognisable line is still an error (never valid)', () => {
    expect(parseCompilerOutput('Segmentation fault: aborted', 'x').errors).toHaveLength(1);
  });
});

describe('policy: data, user files, levels and located problems', () => {
  const xdg = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-policy-'));
    return { dir, env: { XDG_CONFIG_HOME: dir, HOME: dir } as NodeJS.ProcessEnv };
  };
  const subject = (program: string, argv: string[] = []) => ({ tool: 'exec_program', argv, program: analyzeProgram(program) });

  it('refuses system() at standard, naming the rule, the place and how to proceed', () => {
    const p = loadPolicy({}, xdg().env);
    const r = p.evaluate(subject('BEGIN {\n  system ("id"); }'));
    expect(r.verdict).toBe('refuse');
    expect(refusalText(r)).toMatch(/policy rule "system-call" \(safety level standard\) at line 2:3: .*To proceed: /);
    expect(p.evaluate(subject('BEGIN { system("id"); }'), 'permissive').verdict).toBe('allow');
  });

  it('allows --unsafe in the argv only at permissive', () => {
    const p = loadPolicy({}, xdg().env);
    const argv = ['bpftrace', '--unsafe', '-e', 'BEGIN { exit(); }'];
    expect(p.evaluate(subject('BEGIN { exit(); }', argv), 'standard').findings.map((f) => f.rule)).toEqual(['unsafe-flag']);
    expect(p.evaluate(subject('BEGIN { exit(); }', argv), 'permissive').verdict).toBe('allow');
  });

  it("adds the user's rules from $XDG_CONFIG_HOME/mcptrace/policy.yaml and replaces one by id", () => {
    const { dir, env } = xdg();
    const file = path.join(dir, 'mcptrace', 'policy.yaml');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      [
        'rules:',
        '  - { id: no-exec-tracing, probes: ["tracepoint:sched:sched_process_exec"], levels: { strict: refuse, standard: refuse, permissive: warn }, message: exec tracing is off here., remedy: Ask the operator. }',
        '  - { id: system-call, calls: [system], levels: { strict: refuse, standard: warn, permissive: allow }, message: system() is audited here., remedy: Expect an audit. }',
      ].join('\n'),
    );
    const p = loadPolicy({}, env);
    expect(p.problems).toEqual([]);
    expect(p.evaluate(subject('tracepoint:sched:sched_process_exec { @ = count(); }')).findings[0].rule).toBe('no-exec-tracing');
    expect(p.evaluate(subject('BEGIN { system("id"); }')).verdict).toBe('warn');
  });

  it('a broken policy file is reported at file:line:col and every run is refused (fail closed)', () => {
    const { dir, env } = xdg();
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'rules:\n  - id: x\n    levels: { strict: refuse, standard: nope, permissive: allow }\n    message: m\n    remedy: r\n');
    const p = loadPolicy({ file }, env);
    expect(p.problems[0]).toMatchObject({ file, line: 3 });
    const r = p.evaluate(subject('BEGIN { exit(); }'));
    expect(r.verdict).toBe('refuse');
    expect(refusalText(r)).toContain(`${file}:3:`);
  });

  it('an unknown safety level is a problem, and the stricter level applies meanwhile', () => {
    const p = loadPolicy({ level: 'lax' }, xdg().env);
    expect(p.level).toBe('strict');
    expect(p.problems[0].message).toContain('unknown safety level "lax"');
  });
});
