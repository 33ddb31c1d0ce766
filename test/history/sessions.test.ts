import { describe, expect, it } from 'vitest';
import { sessionFromYaml, sessionToYaml, type Session } from '../../src/history/sessions.js';

const session: Session = {
  name: 'disk-latency',
  description: 'Why is /var slow?',
  createdAt: Date.UTC(2024, 4, 1, 12),
  calls: [
    { tool: 'exec_program', input: { program: 'tracepoint:block:block_rq_issue {\n  @start[args.dev] = nsecs;\n}\n', duration: 10 } },
    { tool: 'biolatency', input: { interval: 1, count: 5, disks: true } },
    { tool: 'list_probes', input: {} },
    { tool: 'exec_program', input: { program: 'BEGIN { printf("a: b\\n"); exit(); }' } },
  ],
};

/** Problems as `line:col message`, the way a terminal shows them. */
const located = (text: string) => sessionFromYaml(text, 's.yaml').problems.map((p) => `${p.line}:${p.column} ${p.message}`);

describe('session YAML', () => {
  it('reads as a person would write it: a header saying what it is and how to import it, programs as | blocks', () => {
    const yaml = sessionToYaml(session);
    expect(yaml).toMatch(/^# mcptrace session "disk-latency": 4 tool calls to run again, in order\.\n/);
    expect(yaml).toContain('# Import it with: mcptrace session import FILE');
    expect(yaml).toContain(
      [
        '  - tool: exec_program',
        '    input:',
        '      program: |',
        '        tracepoint:block:block_rq_issue {',
        '          @start[args.dev] = nsecs;',
        '        }',
      ].join('\n'),
    );
    expect(yaml).toContain('created_at: 2024-05-01T12:00:00.000Z');
    expect(yaml).toContain('    input: {}');
  });

  it('round-trips, and an edited file reads back with the edits', () => {
    const yaml = sessionToYaml(session);
    expect(sessionFromYaml(yaml, 's.yaml')).toEqual({ session, problems: [] });

    const edited = yaml
      .replace('duration: 10', 'duration: 30')
      .replace('description: Why is /var slow?', 'description: Why is /var slow on Mondays?')
      .concat('  - tool: opensnoop\n    input:\n      name: postgres\n');
    const { session: back, problems } = sessionFromYaml(edited, 's.yaml');
    expect(problems).toEqual([]);
    expect(back!.description).toBe('Why is /var slow on Mondays?');
    expect(back!.calls[0].input).toEqual({ ...(session.calls[0].input as object), duration: 30 });
    expect(back!.calls.at(-1)).toEqual({ tool: 'opensnoop', input: { name: 'postgres' } });
  });

  it('created_at may be left out (it is then now)', () => {
    const before = Date.now();
    const { session: s } = sessionFromYaml('name: quick\ncalls:\n  - tool: list_probes\n    input: {}\n', 'q.yaml');
    expect(s!.createdAt).toBeGreaterThanOrEqual(before);
  });

  it('rejects an unknown key where it is, naming the allowed ones', () => {
    const text = ['name: s1', 'calls:', '  - tool: biolatency', '    input: {}', '    inptu: {}', 'descripton: typo'].join('\n');
    expect(located(text)).toEqual([
      '6:1 unknown key "descripton" in the session: allowed keys are name, description, created_at, calls',
      '5:5 unknown key "inptu" in call 1: allowed keys are tool, input',
    ]);
    const result = sessionFromYaml(text, 's.yaml');
    expect(result.session).toBeUndefined();
    expect(result.problems.map((p) => p.file)).toEqual(['s.yaml', 's.yaml']);
  });

  it('says what is wrong with the name, the calls and each call, with positions', () => {
    expect(located('name: "bad name"\ncalls: []\n')).toEqual([
      "1:7 \"bad name\" is not a valid session name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. \"disk-latency-2\")",
      '2:8 calls must be a non-empty list of `- tool: NAME` / `input: {...}` entries',
    ]);
    expect(located('description: no name or calls\n')).toEqual([
      '1:1 the session has no name: add `name: my-session`',
      '1:1 the session has no calls: add `calls:` with a list of `- tool: NAME` / `input: {...}` entries',
    ]);
    const calls = [
      'name: s',
      'calls:',
      '  - just a string',
      '  - tool: biolatency',
      '  - input: {}',
      '  - tool: x',
      '    input: [1, 2]',
      '  - tool:',
      '    input: {}',
    ].join('\n');
    expect(located(calls)).toEqual([
      '3:5 call 1 must be a mapping with the keys tool, input',
      '4:5 call 2 has no input: add `input: {}` when the tool takes none',
      '5:5 call 3 has no tool: add `tool: NAME`',
      "7:12 call 4's input must be a mapping of the tool's arguments (`{}` for none)",
      '8:5 tool in call 5 has no value',
    ]);
    expect(located('name: s\ncreated_at: yesterday\ncalls:\n  - tool: x\n    input: {}\n')).toEqual([
      '2:13 created_at must be a date and time, e.g. 2024-05-01T12:00:00Z (or leave it out)',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys at their place, and a file that is not a mapping', () => {
    const [dup] = located('name: a\nname: b\ncalls: []\n');
    expect(dup).toMatch(/^2:1 Map keys must be unique/);
    const [syntax] = located('name: a\ncalls:\n  - tool: x\n   input: {}\n');
    expect(syntax).toMatch(/^4:\d+ /);
    expect(located('- just\n- a list\n')).toEqual([
      '1:1 a session file is a mapping with the keys name, description, created_at, calls (export one with mcptrace to see the shape)',
    ]);
  });
});
