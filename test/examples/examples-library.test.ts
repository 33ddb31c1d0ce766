// The examples library (examples/<category>/<id>.yaml) against its schema and the rules the
// search side relies on. Pure: no bpftrace here; examples-kernel.test.ts proves the measured
// fields.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_DIR, ROOT, loadExamples, withMeasured } from '../../scripts/examples-lib.mjs';

const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/example.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
const examples = loadExamples();
const CATEGORIES: string[] = schema.properties.category.enum;

describe('examples library', () => {
  it('holds at least 110 examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(110);
  });

  it('every example parses and validates against schemas/example.schema.json', () => {
    const problems = examples.flatMap((e) => {
      const rel = path.relative(ROOT, e.file);
      if (e.parseErrors.length) return e.parseErrors.map((m: string) => `${rel}: ${m}`);
      return validate(e.data) ? [] : (validate.errors ?? []).map((err) => `${rel}: ${err.instancePath || '/'} ${err.message}`);
    });
    expect(problems).toEqual([]);
  });

  it('ids are unique and name the file, and each file sits in its category folder', () => {
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const e of examples) {
      const rel = path.relative(EXAMPLES_DIR, e.file);
      if (seen.has(e.data.id)) problems.push(`${rel}: id ${e.data.id} also used by ${seen.get(e.data.id)}`);
      seen.set(e.data.id, rel);
      if (e.name !== `${e.data.id}.yaml`) problems.push(`${rel}: file name should be ${e.data.id}.yaml`);
      if (e.category !== e.data.category) problems.push(`${rel}: category ${e.data.category} but folder ${e.category}`);
    }
    expect(problems).toEqual([]);
  });

  it('covers every category, at least 5 examples each', () => {
    const counts = Object.fromEntries(CATEGORIES.map((c) => [c, examples.filter((e) => e.data.category === c).length]));
    expect(Object.entries(counts).filter(([, n]) => n < 5)).toEqual([]);
  });

  it('every listed probe is written in the program', () => {
    const missing = examples.flatMap((e) => (e.data.probes as string[]).filter((p) => !e.data.program.includes(p)).map((p) => `${e.data.id}: ${p}`));
    expect(missing).toEqual([]);
  });

  it('an example that compiles on no version says why in notes', () => {
    const unexplained = examples.filter((e) => !Object.values(e.data.compiles).some(Boolean) && !e.data.notes).map((e) => e.data.id);
    expect(unexplained).toEqual([]);
  });

  it('kprobe and kfunc examples declare what they require', () => {
    const problems = examples.flatMap((e) => {
      const probes = (e.data.probes as string[]).join(' ');
      const req: string[] = e.data.requires;
      const out: string[] = [];
      if (/\bk(ret)?probe:/.test(probes) && !req.includes('kprobes')) out.push(`${e.data.id}: uses kprobes`);
      if (/\b(k(ret)?func|fentry|fexit):/.test(probes) && !req.includes('kfunc')) out.push(`${e.data.id}: uses kfunc/fentry`);
      if (/\bu(ret)?probe:/.test(probes) && !req.includes('uprobes')) out.push(`${e.data.id}: uses uprobes`);
      if (/\busdt:/.test(probes) && !req.includes('usdt')) out.push(`${e.data.id}: uses usdt`);
      return out;
    });
    expect(problems).toEqual([]);
  });
});

describe('verify-examples write-back', () => {
  const text = [
    'id: a-b',
    'description: >-',
    '  Two lines that',
    '  stay folded.',
    'tags: [x, y]',
    'program: |',
    '  BEGIN { exit(); }',
    'compiles: { "0.17": false, "0.23": false, "0.27": false }',
    'runs_here: false',
    '# trailing comment',
    '',
  ].join('\n');

  it('changes only the compiles and runs_here values', async () => {
    const { parseDocument } = await import('yaml');
    const out = withMeasured(text, parseDocument(text), { '0.17': true, '0.23': false, '0.27': true }, true);
    expect(out).toBe(text.replace('"0.17": false', '"0.17": true').replace('"0.27": false', '"0.27": true').replace('runs_here: false', 'runs_here: true'));
    expect(parseDocument(out).toJS().compiles).toEqual({ '0.17': true, '0.23': false, '0.27': true });
  });

  it('appends the keys when a new example has none yet', async () => {
    const { parseDocument } = await import('yaml');
    const bare = 'id: a-b\nprogram: |\n  BEGIN { exit(); }\n';
    const out = withMeasured(bare, parseDocument(bare), { '0.17': true, '0.23': true, '0.27': false }, false);
    expect(parseDocument(out).toJS()).toEqual({
      id: 'a-b',
      program: 'BEGIN { exit(); }\n',
      compiles: { '0.17': true, '0.23': true, '0.27': false },
      runs_here: false,
    });
  });
});
