import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { readDefinition } from '../../src/manifest/loader.js';
import { runCli } from '../helpers/cli.js';

// A user tools directory (~/.config/mcptrace/tools.d is always read) may hold anything.
const dir = () => mkdtempSync(path.join(os.tmpdir(), 'mcptrace-hostile-'));

const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'name: bomb',
  '',
].join('\n');

describe('hostile manifests are problems with a place, never a crash', () => {
  it('an alias bomb is refused with file:line:col; the other tools still load', () => {
    const d = dir();
    writeFileSync(path.join(d, 'bomb.yaml'), ALIAS_BOMB);
    const r = readDefinition(path.join(d, 'bomb.yaml'));
    expect(r.definition).toBeUndefined();
    expect(r.problems[0]).toMatchObject({ line: 1, col: 1, kind: 'syntax' });
    expect(r.problems[0].message).toContain('at most 100 aliases');
    const core = new Core({ toolsDirs: [d], env: { HOME: '/nonexistent' } });
    expect(core.tool('exec_program')).toBeDefined();
    expect(core.loaded.problems.some((p) => p.file.endsWith('bomb.yaml'))).toBe(true);
  });

  it('a manifest over the size limit is not even read', () => {
    const d = dir();
    const file = path.join(d, 'huge.yaml');
    writeFileSync(file, `name: huge\ndescription: "${'x'.repeat(2 * 1024 * 1024)}"\n`);
    const r = readDefinition(file);
    expect(r.definition).toBeUndefined();
    expect(r.problems[0].message).toMatch(/over the 262144-byte limit for a manifest/);
  });

  it('tools validate reports the alias bomb at its place and exits 1', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'bomb.yaml'), ALIAS_BOMB);
    const r = runCli(['tools', 'validate', path.join(d, 'bomb.yaml')]);
    expect(await r.exited).toBe(1);
    expect(r.stdout()).toContain('bomb.yaml:1:1:');
    expect(r.stdout() + r.stderr()).not.toMatch(/ReferenceError|at .*\.js:\d+/);
  });
});

describe('every shipped input schema is bounded', () => {
  it('every number has a maximum and every string a maxLength (1e21 once became --uid 1e+21)', () => {
    const core = new Core({ env: { HOME: '/nonexistent' } });
    const unbounded: string[] = [];
    const walk = (tool: string, s: Record<string, unknown> | undefined, at: string) => {
      if (!s || typeof s !== 'object') return;
      if ((s.type === 'integer' || s.type === 'number') && s.maximum === undefined && s.exclusiveMaximum === undefined) unbounded.push(`${tool}${at}`);
      if (s.type === 'string' && s.maxLength === undefined && s.enum === undefined) unbounded.push(`${tool}${at}`);
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(tool, v, `${at}.${k}`);
      if (s.items) walk(tool, s.items as Record<string, unknown>, `${at}[]`);
    };
    for (const t of core.tools) walk(t.def.name, t.def.input as Record<string, unknown>, '');
    expect(unbounded).toEqual([]);
  });
});
