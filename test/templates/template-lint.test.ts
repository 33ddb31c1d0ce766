import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentHash, cached } from '../../src/manifest/parse-cache.js';
import { cacheText, checkTemplate, partialsFor, type Partial } from '../../src/kinds/template/template-engine.js';

const partials = (entries: Record<string, string>) => new Map<string, Partial>(Object.entries(entries).map(([n, source]) => [n, { file: `/p/${n}.hbs`, source }]));
const lint = (source: string, declared: string[], parts: Record<string, string> = {}) =>
  checkTemplate(source, '/t/x.bt.hbs', declared, partials(parts)).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);

describe('template lint (Handlebars AST)', () => {
  it('passes a template whose values all go through typed helpers, partials included, and renders it', () => {
    const src = 'tracepoint:a:b\n/ 1{{> filter}} /\n{ @x[{{str comm}}] = count(); }\n';
    const r = checkTemplate(src, '/t/x.bt.hbs', ['pid', 'comm'], partials({ filter: '{{#if pid}} && pid == {{int pid}}{{/if}}' }));
    expect(r.problems).toEqual([]);
    expect(r.render!({ pid: 7, comm: 'a"b' })).toBe('tracepoint:a:b\n/ 1 && pid == 7 /\n{ @x["a\\"b"] = count(); }\n');
  });

  it('locates a value slot inside a // or /* */ comment or inside a string literal', () => {
    expect(lint('// for {{str comm}}\nBEGIN {}\n', ['comm'])).toEqual(['/t/x.bt.hbs:1:8: value slot inside a // comment (a value could end the comment); move it into code']);
    expect(lint('BEGIN { /* {{int pid}} */ }', ['pid'])[0]).toBe('/t/x.bt.hbs:1:12: value slot inside a /* */ comment (a value could close the comment); move it into code');
    expect(lint('BEGIN { printf("{{str comm}}"); }', ['comm'])[0]).toMatch(/1:17: value slot inside a string literal/);
    // After the comment or string ends, code position again: no problem.
    expect(lint('/* c */ BEGIN { printf("%s", {{str comm}}); } // x\n', ['comm'])).toEqual([]);
  });

  it('forbids triple-stash, raw mustaches, literal arguments and other block helpers', () => {
    expect(lint('BEGIN { {{{comm}}} }', ['comm'])[0]).toMatch(/1:9: triple-stash \{\{\{ \}\}\} is forbidden/);
    expect(lint('BEGIN { {{comm}} }', ['comm'])[0]).toMatch(/1:9: values must pass through a typed helper/);
    expect(lint('BEGIN { {{str "x"}} }', [])[0]).toMatch(/helper arguments must be input properties/);
    expect(lint('{{#each comm}}x{{/each}}', ['comm'])[0]).toMatch(/only \{\{#if NAME\}\}/);
    expect(lint('{{#if uid includeZero=true}}{{int uid}}{{/if}}', ['uid'])).toEqual([]);
    expect(lint('{{syscall_names comm}}', ['comm'])[0]).toMatch(/takes no arguments/);
  });

  it('checks variables against the schema both ways, through partials, located in the partial file', () => {
    expect(lint('BEGIN { {{> f}} }', ['comm'], { f: '{{int pid}}' })).toEqual([
      '/p/f.hbs:1:1: template uses "pid", which the input schema does not declare; declared: comm',
      '/t/x.bt.hbs:1:1: input property "comm" is declared but the template never uses it; use it or remove it from the schema',
    ]);
  });

  it('reports unknown, recursive and parameterised partials', () => {
    expect(lint('{{> nope}}', [], { f: 'x' })[0]).toMatch(/unknown partial nope; available: f/);
    expect(lint('{{> a}}', [], { a: '{{> b}}', b: '{{> a}}' })[0]).toMatch(/partial a includes itself \(a → b → a\)/);
    expect(lint('{{> f x=1}}', [], { f: 'x' })[0]).toMatch(/a partial takes no arguments/);
  });

  it('reports a Handlebars syntax error with its position', () => {
    expect(lint('BEGIN {\n {{#if x}} }\n', ['x'])[0]).toMatch(/^\/t\/x.bt.hbs:\d+:\d+: template syntax error/);
  });
});

describe('build-time cache of template checks', () => {
  const file = path.join(__dirname, '../../templates/count_syscalls.bt.hbs');
  const source = readFileSync(file, 'utf8');

  it('keys a template on its text and every partial it can see', () => {
    const parts = partialsFor(file);
    expect([...parts.keys()]).toContain('process_filter');
    // npm run build wrote the entry with this exact key.
    expect(cached(file, cacheText(source, parts))).toEqual(['pid', 'comm', 'uid', 'cgroup', 'duration']);
    const edited = new Map(parts);
    edited.set('process_filter', { ...parts.get('process_filter')!, source: '{{int pid}}{{str comm}}' });
    expect(contentHash(cacheText(source, edited))).not.toBe(contentHash(cacheText(source, parts)));
    expect(cached(file, cacheText(source, edited))).toBeUndefined();
  });

  it('re-checks a template when a partial changed, instead of trusting the cache', () => {
    const parts = partialsFor(file);
    parts.set('owner_filter', { file: '/p/owner_filter.hbs', source: '{{{uid}}}{{str cgroup}}' });
    const problems = checkTemplate(source, file, ['pid', 'comm', 'uid', 'cgroup', 'duration'], parts).problems;
    expect(problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/triple-stash/));
  });
});
