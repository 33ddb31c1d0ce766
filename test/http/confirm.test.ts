import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { callBody, createToken, curl, httpClient, startHttpServer, type HttpServer } from '../helpers/http.js';
import { describeKernel } from '../helpers/kernel.js';
import { BIN } from '../helpers/mcp.js';

// A policy rule that says `confirm`, and a person who says yes, no, or dismisses the question:
// over Streamable HTTP and stdio in both protocol eras (an input_required result to a
// 2026-07-28 client, elicitation/create to a 2025 one), and in the CLI on a real terminal.
// Every accepted run is a real bpftrace run; every refused one must not have started a tracer.

const POLICY =
  'rules:\n' +
  '  - id: exec-watch\n' +
  '    probes: ["tracepoint:sched:sched_process_exec"]\n' +
  '    levels: { strict: refuse, standard: confirm, permissive: allow }\n' +
  '    message: exec tracing shows every command line on the machine.\n' +
  '    remedy: Ask the team first, or trace one process with a pid filter.\n';

const PROGRAM = 'tracepoint:sched:sched_process_exec { @execs = count(); } interval:ms:300 { printf("confirmed run\\n"); exit(); }';

/** The run's own output line (the question shows the program, which contains the words too). */
const RAN = /^confirmed run\r?$/m;

type Answer = 'accept' | 'decline' | 'cancel';

/** The elicitation/create handler a person answers through: records what was asked. */
function person(answer: Answer, asked: { message: string; schema: unknown }[]) {
  return async (req: { params: { message: string; requestedSchema?: unknown } }) => {
    asked.push({ message: req.params.message, schema: req.params.requestedSchema });
    return answer === 'accept' ? { action: 'accept' as const, content: { approve: true } } : { action: answer };
  };
}

const textOf = (r: { content?: unknown }) => ((r.content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');

/** What every answer must lead to: a completed real run, or a policy refusal naming the answer. */
function expectOutcome(
  answer: Answer,
  r: { structuredContent?: unknown; content?: unknown; isError?: unknown },
  asked: { message: string; schema: unknown }[],
) {
  expect(asked).toHaveLength(1);
  // The question shows the program and the reason, and asks for one flat boolean.
  expect(asked[0].message).toContain('sched_process_exec');
  expect(asked[0].message).toMatch(/exec-watch/);
  expect(asked[0].message).toMatch(/every command line/);
  expect(asked[0].schema).toMatchObject({ type: 'object', properties: { approve: { type: 'boolean' } } });
  if (answer === 'accept') {
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 'completed', exit_code: 0 });
    expect(JSON.stringify(r.structuredContent)).toContain('confirmed run');
    expect(JSON.stringify(r.structuredContent)).toMatch(/a person confirmed this run/);
  } else {
    expect(r.isError).toBe(true);
    const text = textOf(r);
    expect(text).toMatch(answer === 'decline' ? /the person said no/ : /dismissed the question/);
    expect(text).toMatch(/Ask the team first/);
  }
}

describeKernel('confirm over Streamable HTTP, in both eras', () => {
  let s: HttpServer;
  let token: string;
  const policyDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-confirm-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);

  beforeAll(async () => {
    s = await startHttpServer([], { MCPTRACE_POLICY: policyFile });
    token = createToken(s.stateDir, 'ops');
  });
  afterAll(async () => {
    expect(await s.stop()).toBe(0);
  });

  // A 2026-07-28 client gets an input_required result; the SDK client fulfils it through its
  // elicitation handler and calls again with the answer, all inside one callTool. A 2025 client
  // opens a session at initialize, and gets elicitation/create on the call's stream.
  for (const era of ['modern', 'legacy'] as const) {
    for (const answer of ['accept', 'decline', 'cancel'] as const) {
      it(`${era === 'modern' ? '2026-07-28 client (input_required)' : '2025 client in a session (elicitation/create)'}: the person answers ${answer}`, async () => {
        const client = await httpClient(s.url, token, era, { elicitation: { form: {} } });
        const asked: { message: string; schema: unknown }[] = [];
        client.setRequestHandler('elicitation/create', person(answer, asked) as never);
        const r = await client.callTool({ name: 'exec_program', arguments: { program: PROGRAM, wait: true, include_maps: true } });
        expectOutcome(answer, r, asked);
        await client.close();
      });
    }
  }

  it('a 2025 client without a session (plain POSTs) cannot be asked: a refusal that says how to approve', () => {
    // Without Mcp-Session-Id the call is served statelessly: no stream stays open on which the
    // server could ask, and the answer could not find its way back.
    const r = curl(s.url, { body: callBody('exec_program', { program: PROGRAM, wait: true }), headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const text = r.body.includes('data: ')
      ? r.body
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .pop()!
      : r.body;
    const answer = JSON.parse(text) as { result: { isError: boolean; content: { text: string }[] } };
    expect(answer.result.isError).toBe(true);
    expect(answer.result.content[0].text).toMatch(/nobody could be asked here\. To approve:/);
    expect(answer.result.content[0].text).toMatch(/exec-watch/);
  });

  it('a 2025 client in a session that declared no elicitation is refused with how to approve', async () => {
    const client = await httpClient(s.url, token, 'legacy');
    const r = await client.callTool({ name: 'exec_program', arguments: { program: PROGRAM, wait: true } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/nobody could be asked here\. To approve:/);
    await client.close();
  });

  it('a 2026-07-28 client without elicitation is refused with how to approve, not left waiting', async () => {
    const client = await httpClient(s.url, token, 'modern');
    const r = await client.callTool({ name: 'exec_program', arguments: { program: PROGRAM, wait: true } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/nobody could be asked here\. To approve:/);
    await client.close();
  });

  it('the audit records who was asked and what they answered', () => {
    const out = runCli(['audit', '--who', 'ops', '--json'], { env: { MCPTRACE_STATE_DIR: s.stateDir } });
    return out.exited.then((code) => {
      expect(code, out.stderr()).toBe(0);
      const records = JSON.parse(out.stdout()) as { verdict?: string; outcome: string; tool: string }[];
      const calls = records.filter((r) => r.tool === 'exec_program');
      expect(calls.map((c) => c.verdict)).toEqual(expect.arrayContaining(['confirmed', 'confirm']));
      expect(calls.some((c) => c.verdict === 'confirmed' && c.outcome === 'ok')).toBe(true);
      expect(calls.some((c) => c.verdict === 'confirm' && c.outcome.startsWith('error'))).toBe(true);
    });
  });
});

describeKernel('confirm over stdio, in both eras', () => {
  const policyDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-confirm-stdio-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);

  async function stdioClient(era: 'legacy' | 'modern', capabilities: Record<string, unknown>): Promise<Client> {
    const client = new Client(
      { name: 'mcptrace-confirm-test', version: '1.0.0' },
      { capabilities, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {}) },
    );
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'serve'],
        env: {
          ...(process.env as Record<string, string>),
          MCPTRACE_POLICY: policyFile,
          MCPTRACE_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'mcptrace-confirm-state-')),
        },
        stderr: 'pipe',
      }),
    );
    expect(client.getProtocolEra()).toBe(era);
    return client;
  }

  for (const era of ['legacy', 'modern'] as const) {
    for (const answer of ['accept', 'decline', 'cancel'] as const) {
      it(`${era === 'legacy' ? '2025 client (elicitation/create)' : '2026-07-28 client (input_required)'}: the person answers ${answer}`, async () => {
        const client = await stdioClient(era, { elicitation: { form: {} } });
        const asked: { message: string; schema: unknown }[] = [];
        client.setRequestHandler('elicitation/create', person(answer, asked) as never);
        const r = await client.callTool({ name: 'exec_program', arguments: { program: PROGRAM, wait: true, include_maps: true } });
        expectOutcome(answer, r, asked);
        await client.close();
      });
    }
  }

  it('a 2025 client without elicitation is refused with how to approve', async () => {
    const client = await stdioClient('legacy', {});
    const r = await client.callTool({ name: 'exec_program', arguments: { program: PROGRAM, wait: true } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/nobody could be asked here\. To approve:/);
    await client.close();
  });
});

describeKernel('confirm in the CLI', () => {
  const policyDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-confirm-cli-'));
  const policyFile = path.join(policyDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const env = { MCPTRACE_POLICY: policyFile, MCPTRACE_STATE_DIR: policyDir };

  /** Waits until the terminal shows the question, then types the answer. */
  async function answerOnTerminal(answer: string) {
    const run = runCli(['exec_program', PROGRAM], { tty: true, env });
    for (let i = 0; i < 200 && !/\[y\/N\]/.test(run.stdout()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(run.stdout()).toMatch(/exec-watch/);
    expect(run.stdout()).toMatch(/\[y\/N\]/);
    run.child.stdin!.write(answer);
    return { code: await run.exited, out: run.stdout() };
  }

  it('y on a terminal runs the trace', async () => {
    const { code, out } = await answerOnTerminal('y\r');
    expect(code, out).toBe(0);
    expect(out).toMatch(RAN);
  });

  it('n, or just Enter, refuses it with how to approve', async () => {
    for (const key of ['n\r', '\r']) {
      const { code, out } = await answerOnTerminal(key);
      expect(code, out).not.toBe(0);
      expect(out).toMatch(/the person said no/);
      expect(out).not.toMatch(RAN);
    }
  });

  it('Ctrl-C at the question refuses it as dismissed', async () => {
    const { code, out } = await answerOnTerminal('\x03');
    expect(code, out).not.toBe(0);
    expect(out).not.toMatch(RAN);
  });

  it('--yes approves in a script, without a terminal; without it a script is refused with how to approve', async () => {
    const yes = runCli(['exec_program', PROGRAM, '--yes'], { env });
    expect(await yes.exited, yes.stderr()).toBe(0);
    expect(yes.stdout()).toMatch(RAN);

    const no = runCli(['exec_program', PROGRAM], { env });
    expect(await no.exited).not.toBe(0);
    expect(no.stdout() + no.stderr()).toMatch(/nobody could be asked here\. To approve: .*--yes/);
  });

  it('--yes does not approve at the strict level, where the rule refuses', async () => {
    const run = runCli(['exec_program', PROGRAM, '--yes'], { env: { ...env, MCPTRACE_SAFETY_LEVEL: 'strict' } });
    expect(await run.exited).not.toBe(0);
    expect(run.stdout() + run.stderr()).toMatch(/exec-watch/);
    expect(run.stdout()).not.toMatch(RAN);
  });
});

describe('the confirm rule itself', () => {
  it('is a valid user policy (a broken one would make every test above pass for the wrong reason)', async () => {
    const { loadPolicy } = await import('../../src/policy/policy.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-confirm-rule-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, POLICY);
    const p = loadPolicy({}, { MCPTRACE_POLICY: file, HOME: dir, XDG_CONFIG_HOME: dir });
    expect(p.problems).toEqual([]);
  });
});
