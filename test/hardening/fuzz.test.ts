import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import type { JsonSchema } from '../../src/manifest/types.js';
import { describeKernel } from '../helpers/kernel.js';
import { startRawServer } from '../helpers/raw-server.js';

// Fuzzing the server as a hostile client would. CI runs a sample (FUZZ_RUNS, default 300 calls);
// `npm run fuzz` runs thousands. Every answer must be a JSON-RPC message, every error a clear
// text (no stack trace), and the server must stay up and answer in time.
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);
const STACK = /\n\s+at .+:\d+:\d+/;

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '"; system("id"); "',
    '*/ BEGIN { system("id") } /*',
    '%s%n%p',
    '../../../../etc/passwd',
    '-c',
    '--unsafe',
    '$(id)',
    '`id`',
  ),
  fc.string({ minLength: 5000, maxLength: 70_000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e21, -1, 0, 2 ** 53, Number.MAX_SAFE_INTEGER, -0),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 5 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

/** A value for one property: usually of its declared type (so validation passes and deeper code runs), often not. */
function valueFor(p: JsonSchema): fc.Arbitrary<unknown> {
  const typed: fc.Arbitrary<unknown>[] = [];
  if (Array.isArray(p.enum)) typed.push(fc.constantFrom(...(p.enum as unknown[])));
  if (p.type === 'integer') typed.push(fc.integer({ min: Number(p.minimum ?? -10), max: Math.min(Number(p.maximum ?? 100_000), 100_000) }));
  if (p.type === 'number') typed.push(fc.double({ min: 0.01, max: 5, noNaN: true }));
  if (p.type === 'string')
    typed.push(fc.string({ maxLength: Number(p.maxLength ?? 100) }), fc.constantFrom('tracepoint:syscalls:sys_enter_openat', 'bash', 'BEGIN { exit(); }'));
  if (p.type === 'boolean') typed.push(fc.boolean());
  if (p.type === 'array') typed.push(fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }));
  return typed.length ? fc.oneof({ weight: 3, arbitrary: fc.oneof(...typed) }, { weight: 1, arbitrary: nasty }) : nasty;
}

function argumentsFor(schema: JsonSchema, runnable: boolean): fc.Arbitrary<Record<string, unknown>> {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const shape = Object.fromEntries(Object.entries(props).map(([k, p]) => [k, valueFor(p)]));
  return fc
    .tuple(fc.record(shape, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 10 }), nasty, { maxKeys: 2 }), fc.integer({ min: 0, max: 9 }))
    .map(([known, extra, dice]) => {
      const args: Record<string, unknown> = dice < 8 ? known : { ...known, ...extra };
      // Mostly dry runs, so thousands of calls do not start thousands of tracers; some run.
      if (runnable && dice < 9) args.dry_run = true;
      if (runnable) args.timeout = 1;
      // A planned duration outlasts the timeout on purpose (the run then ends normally); keep real runs short.
      for (const k of ['duration', 'interval']) if (typeof args[k] === 'number') args[k] = Math.min(args[k] as number, 2);
      return args;
    });
}

describeKernel('fuzzed tool calls over MCP', () => {
  it(`${RUNS} schema-generated and mutated calls (seed ${SEED}): no crash, no hang, no stray byte, clear errors`, async () => {
    const s = await startRawServer();
    const core = new Core({ env: { HOME: '/nonexistent' } });
    const tools = core.tools.filter((t) => !['stop_execution'].includes(t.def.name));
    const calls = fc.sample(
      fc.oneof(
        ...tools.map((t) => argumentsFor(t.def.input, t.kind.runnable).map((args) => ({ name: t.def.name, args: args as unknown }))),
        fc.record({ name: fc.string({ maxLength: 30 }), args: nasty }),
      ),
      { numRuns: RUNS, seed: SEED },
    );
    try {
      let id = 1000;
      for (const c of calls) {
        s.request(++id, 'tools/call', { name: c.name, arguments: c.args });
        const r = await s.reply(id, 60_000).catch((e: Error) => {
          throw new Error(`${e.message}\nthe call: ${JSON.stringify(c).slice(0, 500)}`);
        });
        const text: string = r.error?.message ?? r.result?.content?.map((x: { text?: string }) => x.text ?? '').join('\n') ?? '';
        expect(text.length, `empty answer to ${JSON.stringify(c).slice(0, 200)}`).toBeGreaterThan(0);
        expect(text, `stack trace in the answer to ${JSON.stringify(c).slice(0, 200)}`).not.toMatch(STACK);
        expect(text).not.toMatch(/internal error/);
      }
      expect(s.junk()).toEqual([]);
      expect(s.child.exitCode).toBeNull();
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }, 600_000);

  it(`${Math.ceil(RUNS / 3)} malformed JSON-RPC lines: each answered or ignored, never a broken stream`, async () => {
    const s = await startRawServer();
    const lines = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.json().map((j) => j),
        fc
          .record({
            jsonrpc: fc.constantFrom('2.0', '1.0', 2),
            id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
            method: fc.string({ maxLength: 20 }),
            params: nasty,
          })
          .map((o) => JSON.stringify(o)),
        fc.constantFrom('{', '[]', '[1,2]', 'null', '"x"', '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"2.0","method":"tools/call","id":{}}'),
      ),
      { numRuns: Math.ceil(RUNS / 3), seed: SEED },
    );
    try {
      for (const l of lines) s.send(l.replace(/\n/g, ' '));
      // Still serving, in order, after all of it.
      s.request(99_999, 'tools/list');
      expect((await s.reply(99_999, 30_000)).result.tools.length).toBeGreaterThan(5);
      expect(s.junk()).toEqual([]);
      for (const m of s.messages() as { error?: { message: string } }[]) if (m.error) expect(m.error.message).not.toMatch(STACK);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }, 600_000);
});

describe('fuzzed manifests', () => {
  it(`${Math.ceil(RUNS / 3)} mutated manifests load as located problems or tools, never a throw`, () => {
    const base = [
      'name: fuzzed_tool',
      'title: Fuzzed',
      'description: A manifest whose parts are replaced by random values to see the loader hold.',
      'kind: bpftrace',
      'annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }',
      'input:',
      '  type: object',
      '  properties:',
      '    timeout: { $ref: common.json#/$defs/timeout }',
      '    wait: { $ref: common.json#/$defs/wait }',
      'run:',
      '  program: "BEGIN { exit(); }"',
    ];
    const mutated = fc.sample(
      fc.tuple(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.constantFrom('kind: template', 'run: { template: ../../../etc/passwd.hbs }', '  *alias', '&a [*a]', 'input: 5', '  properties: []', '\t:'),
        ),
        fc.boolean(),
      ),
      { numRuns: Math.ceil(RUNS / 3), seed: SEED },
    );
    for (const [line, text, replace] of mutated) {
      const lines = [...base];
      if (replace) lines[line] = text;
      else lines.splice(line, 0, text);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-fuzz-'));
      writeFileSync(path.join(dir, 'fuzzed.yaml'), `${lines.join('\n')}\n`);
      const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
      const mine = core.loaded.problems.filter((p) => p.file.endsWith('fuzzed.yaml'));
      if (!core.tool('fuzzed_tool')) expect(mine.length).toBeGreaterThan(0);
      for (const p of mine) {
        expect(p.line).toBeGreaterThan(0);
        expect(p.message).not.toMatch(STACK);
      }
    }
  });
});
