import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programStructure } from '../helpers/bpftrace-structure.js';
import { startServer, textOf, type TestServer } from '../helpers/mcp.js';

// Hostile values go through every string parameter of every template via render_template,
// over real stdio exactly as an MCP client calls it. Each must either be refused (the schema
// or a typed helper: an input error, never an internal one) or leave the program's structure,
// its token stream outside string literals, identical to the one a benign value renders.
const PAYLOADS = [
  '',
  'x"',
  '"; system("id"); "',
  '" } BEGIN { system("id"); } tracepoint:a:b { "',
  'a\\',
  'a\\"b',
  '\\\\"',
  'line\nnext',
  'cr\rx',
  'nul\u0000x',
  'del\u007fx',
  '{ }',
  '}}{{',
  '{{str comm}}',
  '*/ BEGIN { exit(); } /*',
  '// comment',
  '/* open',
  '%s%n%x%%',
  '$1 str($1)',
  "'single'",
  'a'.repeat(10_000),
  '"'.repeat(300),
  'é中文🙂',
  '\u202etxt',
  '/etc/../../x',
  'vfs_read:kprobe:x',
  'sched:sched_switch { exit(); }',
  '/lib/x.so:malloc',
  'a b',
  'a,b',
];

/** A value each string parameter accepts, to render the reference structure with. */
const BENIGN: Record<string, string> = {
  comm: 'bash',
  path_prefix: '/etc/',
  binary: '/lib/x86_64-linux-gnu/libc.so.6',
  symbol: 'malloc',
  pattern: 'vfs_read',
  function: 'vfs_read',
  tracepoint: 'sched:sched_switch',
  syscall: 'read',
  cgroup: '/sys/fs/cgroup/system.slice',
};

interface Listed {
  name: string;
  parameters: { name: string; type: string }[];
  example?: { input: Record<string, unknown> };
}

let server: TestServer;
let templates: Listed[];
beforeAll(async () => {
  server = await startServer();
  templates = (await server.call('list_templates', {})).structuredContent.templates;
}, 30_000);
afterAll(() => server?.close());

async function render(name: string, params: Record<string, unknown>): Promise<{ refused: true; text: string } | { refused: false; program: string }> {
  const r = await server.call('render_template', { name, params });
  if (r.isError) return { refused: true, text: textOf(r) };
  return { refused: false, program: r.structuredContent.program };
}

/** Every (template, string parameter) pair, with the params that render a benign program. */
function targets(): { template: string; param: string; base: Record<string, unknown> }[] {
  return templates.flatMap((t) =>
    t.parameters
      .filter((p) => p.type === 'string')
      .map((p) => ({ template: t.name, param: p.name, base: { ...t.example?.input, [p.name]: BENIGN[p.name] } })),
  );
}

async function expectSafe(template: string, param: string, base: Record<string, unknown>, value: string): Promise<void> {
  const reference = await render(template, base);
  if (reference.refused) throw new Error(`benign ${param} for ${template} refused: ${reference.text}`);
  const r = await render(template, { ...base, [param]: value });
  const where = `${template}.${param} = ${JSON.stringify(value).slice(0, 80)}`;
  if (r.refused) {
    expect(r.text, where).not.toMatch(/internal error/);
    return;
  }
  expect(programStructure(r.program), where).toEqual(programStructure(reference.program));
}

describe('injection through render_template, over MCP stdio', () => {
  it('covers every string parameter of every template', () => {
    const pairs = targets();
    expect(templates.length).toBeGreaterThanOrEqual(25);
    for (const { param } of pairs) expect(BENIGN[param], `add a benign value for "${param}"`).toBeDefined();
    expect(pairs.length).toBeGreaterThan(templates.length);
  });

  it('refuses or contains every listed payload', async () => {
    let refused = 0;
    let contained = 0;
    for (const { template, param, base } of targets()) {
      for (const p of PAYLOADS) {
        await expectSafe(template, param, base, p);
        if ((await render(template, { ...base, [param]: p })).refused) refused++;
        else contained++;
      }
    }
    // Both outcomes happen: comm accepts quotes (escaped inside its literal), patterns refuse them.
    expect(refused).toBeGreaterThan(0);
    expect(contained).toBeGreaterThan(0);
  }, 120_000);

  it('property: any JSON value in any parameter is refused as input or renders; integers never change a structure', async () => {
    for (const t of templates) {
      for (const p of t.parameters.filter((x) => x.type !== 'string')) {
        // The reference sets the parameter too (1 is valid for every integer one): an optional
        // filter's presence legitimately adds its predicate.
        const base = { ...t.example?.input, ...(p.type === 'integer' ? { [p.name]: 1 } : {}) };
        const reference = await render(t.name, base);
        if (reference.refused) throw new Error(`reference of ${t.name}.${p.name} refused: ${reference.text}`);
        await fc.assert(
          fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.integer(), fc.double()), async (v) => {
            const r = await render(t.name, { ...base, [p.name]: v });
            if (r.refused) expect(r.text).not.toMatch(/internal error/);
            else if (p.type === 'integer') expect(programStructure(r.program), `${t.name}.${p.name} = ${JSON.stringify(v)}`).toEqual(programStructure(reference.program));
          }),
          { numRuns: 15 },
        );
      }
    }
  }, 240_000);

  it('a quote-and-brace comm stays one escaped string literal', async () => {
    const r = await render('trace_opens', { comm: 'x"){exit()}"' });
    expect(r.refused).toBe(false);
    if (!r.refused) expect(r.program).toContain('comm == "x\\"){exit()}\\""');
  });

  it('property: arbitrary strings and mixes of hostile fragments never change a structure', async () => {
    const fragments = fc.constantFrom('"', '\\', '{', '}', '/*', '*/', '//', '\n', '%', '$1', ':', ',', ' ', 'system("id")', ';', '\u0000', 'é', '/');
    const hostile = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.array(fragments, { maxLength: 12 }).map((a) => a.join('')), fc.string({ maxLength: 20 }));
    for (const { template, param, base } of targets()) {
      await fc.assert(
        fc.asyncProperty(hostile, (v) => expectSafe(template, param, base, v)),
        { numRuns: 25 },
      );
    }
  }, 240_000);
});
