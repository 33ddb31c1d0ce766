import { fakePreflight } from '../helpers/preflight.js';
import { runCommand } from '@oclif/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor, EXIT } from '../../src/cli/exit-codes.js';
import { validatePaths } from '../../src/cli/commands/tools-validate.js';
import { commandForTool } from '../../src/cli/tool-command.js';
import { pageSize } from '../../src/config/defaults.js';
import { Core } from '../../src/core/core.js';
import type { RunnableKind } from '../../src/kinds/kind.js';
import { registerKind } from '../../src/kinds/registry.js';
import { connectInMemory } from '../helpers/in-memory.js';
import { parseServeArgv, toCoreOptions } from '../../src/mcp/serve-options.js';
import { TextDecoder } from '../../src/runtime/output-decoder.js';
import { FakeSpawner, type Recording } from '../helpers/fake-tracer.js';
import { REPO } from '../helpers/mcp.js';
import { expectConforms } from '../helpers/output-schema.js';

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));
const cores: Core[] = [];
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

/** A fifth kind, registered here and nowhere else: it echoes a greeting through a real process. */
const echoKind: RunnableKind<{ greeting: string }> = {
  name: 'echo',
  runnable: true,
  runSchema: { type: 'object', additionalProperties: false, required: ['greeting'], properties: { greeting: { type: 'string' } } },
  prepare: (ctx) => ({ greeting: String(ctx.def.run.greeting) }),
  launch: (tool, input) => {
    if (input.explode) throw new TypeError('boom: a bug inside a kind');
    return {
      spec: {
        argv: ['/bin/echo', tool.prepared.greeting, String(input.name)],
        env: {},
        decoder: () => new TextDecoder(),
        holdStopUntilAttached: false,
        timeoutMs: 5_000,
      },
    };
  },
};
registerKind(echoKind);

function echoManifest(dir: string, run = 'greeting: hello') {
  writeFileSync(
    path.join(dir, 'say_hello.yaml'),
    `name: say_hello
title: Say hello through a new kind
kind: echo
description: Echoes a greeting and a name through /bin/echo, to prove a kind is one module plus its registration.
annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
input:
  type: object
  additionalProperties: false
  required: [name]
  properties:
    name: { type: string, description: Who to greet. }
    explode: { type: boolean, description: Make the kind throw. }
    timeout: { $ref: common.json#/$defs/timeout }
    wait: { $ref: common.json#/$defs/wait }
output: { $ref: common.json#/$defs/execution_result }
run:
  ${run}
`,
  );
}

describe('a fifth tool kind is one module and its registration', () => {
  it('loads, is an MCP tool and a CLI command, and runs', async () => {
    const dir = tmp('mcptrace-kind-');
    echoManifest(dir);
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' }, preflight: fakePreflight });
    cores.push(core);
    expect(core.loaded.problems).toEqual([]);

    const { client, close } = await connectInMemory(core);
    const listed = (await client.listTools()).tools.find((t) => t.name === 'say_hello');
    expect(listed?.inputSchema.properties).toHaveProperty('dry_run');
    const called = await client.callTool({ name: 'say_hello', arguments: { name: 'kernel', wait: true } });
    expect(called.structuredContent).toMatchObject({ status: 'completed', output: ['hello kernel'] });
    // A dry run answers with the argv over MCP too, and its answer passes the client's schema check.
    const dry = await client.callTool({ name: 'say_hello', arguments: { name: 'kernel', dry_run: true } });
    expect(dry.structuredContent).toMatchObject({ dry_run: true, argv: ['/bin/echo', 'hello', 'kernel'] });
    await close();

    const cmd = commandForTool(core.tool('say_hello')!, () => core) as unknown as { id: string; args: object; flags: object };
    expect(cmd.id).toBe('say-hello');
    expect(Object.keys(cmd.args)).toEqual(['name']);
    expect(Object.keys(cmd.flags)).toEqual(expect.arrayContaining(['explode', 'timeout', 'dry-run']));
  });

  it("checks the manifest's run section against the kind's own schema, with a location", () => {
    const dir = tmp('mcptrace-kind-');
    echoManifest(dir, 'greting: hello');
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    expect(core.loaded.problems.map((p) => `${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`)).toEqual([
      'say_hello.yaml:17:3: /run is missing required key "greeting"',
      'say_hello.yaml:17:3: unknown key "greting" in /run (did you mean "greeting"?); allowed keys: greeting',
    ]);
  });

  it('an exception inside a kind is an internal error with its own exit code, never "the trace failed"', async () => {
    const dir = tmp('mcptrace-kind-');
    echoManifest(dir);
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' }, preflight: fakePreflight });
    const r = await core.callTool('say_hello', { name: 'x', explode: true });
    expect(r.errorKind).toBe('internal');
    expect(r.text).toContain('This is a bug in mcptrace');
    expect(r.debug).toContain('TypeError: boom');
    expect(exitCodeFor(r)).toBe(EXIT.internal);
    expect(EXIT.internal).not.toBe(EXIT.traceFailed);
  });
});

describe('one home for defaults and shared checks (each of these was a bug)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('serve honours MCPTRACE_CONCURRENCY, MCPTRACE_MAX_QUEUED and MCPTRACE_GRACE_MS; a flag wins over them', () => {
    Object.assign(process.env, { MCPTRACE_CONCURRENCY: '9', MCPTRACE_MAX_QUEUED: '3', MCPTRACE_GRACE_MS: '1234' });
    const parsed = parseServeArgv([]);
    if ('error' in parsed) throw new Error(parsed.error);
    const core = new Core({ ...toCoreOptions(parsed.values), env: { HOME: '/nonexistent' } });
    expect(core.runner.options).toMatchObject({ concurrency: 9, maxQueued: 3, graceMs: 1234 });
    const flagged = parseServeArgv(['--concurrency', '2']);
    if ('error' in flagged) throw new Error(flagged.error);
    expect(new Core({ ...toCoreOptions(flagged.values), env: { HOME: '/nonexistent' } }).runner.options).toMatchObject({ concurrency: 2, graceMs: 1234 });
  });

  it('serve takes the longest MCP timeout from --max-timeout, else MCPTRACE_MAX_TIMEOUT', () => {
    Object.assign(process.env, { MCPTRACE_MAX_TIMEOUT: '7200' });
    const parsed = parseServeArgv([]);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(new Core({ ...toCoreOptions(parsed.values), env: { HOME: '/nonexistent' } }).runner.options.maxTimeoutSec).toBe(7200);
    const flagged = parseServeArgv(['--max-timeout', '60']);
    if ('error' in flagged) throw new Error(flagged.error);
    expect(new Core({ ...toCoreOptions(flagged.values), env: { HOME: '/nonexistent' } }).runner.options.maxTimeoutSec).toBe(60);
  });

  it('tools validate reports an alias clash, exactly as the server skips the file', () => {
    const dir = tmp('mcptrace-alias-');
    for (const name of ['first_tool', 'second_tool']) {
      writeFileSync(
        path.join(dir, `${name}.yaml`),
        `name: ${name}\ntitle: A tool with a shared alias\nkind: builtin\naliases: [same]\ndescription: A builtin manifest whose alias clashes with another manifest's alias.\nannotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }\ninput: { type: object, properties: {} }\nrun: { handler: bpf_info }\n`,
      );
    }
    const report = validatePaths([dir], (f) => path.basename(f));
    expect(report.problems).toBe(1);
    expect(report.text).toContain('second_tool.yaml:1:7: alias "same" is already used by first_tool.yaml; choose another alias [duplicate-name]');
    const served = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    expect(served.tool('second_tool')).toBeUndefined();
    expect(served.loaded.problems.map((p) => p.message)).toContain(
      'alias "same" is already used by ' + path.join(dir, 'first_tool.yaml') + '; choose another alias',
    );
  });

  it('doctor takes --tools-dir like every command', async () => {
    const dir = tmp('mcptrace-doctor-');
    echoManifest(dir);
    const { stdout, error } = await runCommand(['doctor', '--tools-dir', dir, '--json'], { root: REPO });
    expect(error?.message ?? '').not.toMatch(/Nonexistent flag/);
    expect(JSON.parse(stdout).checks.map((c: { name: string }) => c.name)).toContain('manifests');
    expect(process.exitCode).not.toBe(EXIT.input);
    process.exitCode = 0;
  });

  it('one page size: a waited run and get_result return the same number of lines by default', async () => {
    const lines = Array.from({ length: 2 * pageSize() + 10 }, (_, i) => JSON.stringify({ type: 'printf', data: `line ${i}\n` }));
    const rec: Recording = {
      program: 'x',
      exitCode: 0,
      before: { stdout: lines, stderr: ['__BPFTRACE_NOTIFY_PROBES_ATTACHED'] },
      after: { stdout: [], stderr: [] },
    };
    const core = new Core({ env: { HOME: '/nonexistent' }, spawner: new FakeSpawner(rec, { exitsAlone: true }), preflight: fakePreflight });
    cores.push(core);
    const ran = await core.callTool('exec_program', { program: 'x', wait: true });
    expectConforms(core, 'exec_program', ran);
    const page = await core.callTool('get_result', { execution_id: ran.structured.execution_id });
    expectConforms(core, 'get_result', page);
    expect((ran.structured.output as string[]).length).toBe(pageSize());
    expect((page.structured.output as string[]).length).toBe(pageSize());
  });
});
