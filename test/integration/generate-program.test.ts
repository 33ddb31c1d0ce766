import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { describeKernel } from '../helpers/kernel.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';

// generate_program against a real local OpenAI-compatible HTTP server that replays answers, and
// the real bpftrace as the judge: a wrong program must be caught and its located error fed back.
const WRONG = 'Here you go:\n```bpftrace\ntracepoint:syscalls:sys_enter_openat /comm = "cat"/ { @[comm] = count(); }\n```';
const RIGHT = '```bpftrace\ntracepoint:syscalls:sys_enter_openat /comm == "cat"/ { @[comm] = count(); }\n```\nCounts opens by cat.';

const cores: Core[] = [];
const servers: OpenAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(cores.map((c) => c.shutdown()));
});
const coreFor = (env: Record<string, string>) => {
  const c = new Core({ env: { HOME: '/nonexistent', ...env } });
  cores.push(c);
  return c;
};
const withModel = async (...replies: Parameters<typeof startOpenAiServer>[0]) => {
  const s = await startOpenAiServer(replies);
  servers.push(s);
  return { s, core: coreFor({ OPENAI_BASE_URL: s.url, MCPTRACE_MODEL: 'replay' }) };
};

describeKernel('generate_program with a model (real HTTP, real bpftrace)', () => {
  it('a mistake with a mechanical fix is fixed by mcptrace, without another round trip', async () => {
    const { s, core } = await withModel({ content: WRONG });
    const g = (await core.callTool('generate_program', { goal: 'count the files cat opens' })).structured as any;
    expect(g).toMatchObject({ mode: 'model', ok: true, program: 'tracepoint:syscalls:sys_enter_openat /comm == "cat"/ { @[comm] = count(); }' });
    expect(g.attempts).toHaveLength(1);
    expect(g.attempts[0].ok).toBe(false);
    expect(g.attempts[0].fixed.changes).toEqual([expect.objectContaining({ line: 1, was: '=', now: '==' })]);
    expect(s.requests).toHaveLength(1);
  });

  it('a mistake with no mechanical fix goes back to the model, located, and its fix passes', async () => {
    const broken = '```bpftrace\ntracepoint:syscalls:sys_enter_openat { printf("%s\\n", $nowhere); }\n```';
    const { s, core } = await withModel({ content: broken }, { content: RIGHT });
    const r = await core.callTool('generate_program', { goal: 'count the files cat opens' });
    const g = r.structured as any;
    expect(r.isError).toBeFalsy();
    expect(g).toMatchObject({ mode: 'model', ok: true, program: 'tracepoint:syscalls:sys_enter_openat /comm == "cat"/ { @[comm] = count(); }' });
    expect(g.attempts.map((a: any) => a.ok)).toEqual([false, true]);
    expect(g.attempts[0].errors[0].line).toBe(1);
    expect(g.validation.valid).toBe(true);
    // The retry carried the error, located, and the plan's probes went in the first prompt.
    const feedback = s.requests[1].messages.at(-1)!.content;
    expect(feedback).toContain('does not pass validation');
    expect(feedback).toMatch(/line 1:\d+/);
    expect(feedback).toContain('$nowhere');
    expect(s.requests[0].messages[1].content).toContain('tracepoint:syscalls:sys_enter_openat');
    expect(s.requests[0].messages[0].content).toContain('```bpftrace');
  });

  it('gives up after `attempts`, returning the last program and every problem', async () => {
    const unfixable = '```\ntracepoint:nosuch:event_xyz { @ = count(); }\n```';
    const { core } = await withModel({ content: unfixable }, { content: 'I would rather not.' });
    const g = (await core.callTool('generate_program', { goal: 'count the files cat opens', attempts: 2 })).structured as any;
    expect(g.ok).toBe(false);
    expect(g.attempts).toHaveLength(2);
    expect(g.attempts[1]).toMatchObject({ program: null, ok: false });
    expect(g.attempts[1].problems[0]).toContain('no bpftrace program');
    expect(g.program).toContain('nosuch:event_xyz');
  });

  it('a program on probes this kernel lacks does not pass, and the model is told why', async () => {
    const { s, core } = await withModel({ content: '```\ntracepoint:nosuch:event_xyz { @ = count(); }\n```' }, { content: RIGHT });
    const g = (await core.callTool('generate_program', { goal: 'count the files cat opens' })).structured as any;
    expect(g.attempts[0].ok).toBe(false);
    expect(g.ok).toBe(true);
    expect(s.requests[1].messages.at(-1)!.content).toMatch(/\[unknown_probe\] line 1:1: .*nosuch:event_xyz/);
  });

  it('a program the policy refuses does not pass', async () => {
    const { core } = await withModel({ content: '```\nBEGIN { system("id"); exit(); }\n```' });
    const g = (await core.callTool('generate_program', { goal: 'who am i', attempts: 1 })).structured as any;
    expect(g.ok).toBe(false);
    expect(g.attempts[0].problems.join('\n')).toContain('refused by the safety policy (system-call)');
  });

  it('a provider error is an error result that says how to fix it', async () => {
    const { core } = await withModel({ status: 401, body: JSON.stringify({ error: { message: 'bad key' } }) });
    const r = await core.callTool('generate_program', { goal: 'count opens' });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('HTTP 401');
    expect(r.text).toContain('OPENAI_API_KEY');
  });
});

describe('generate_program without a model', () => {
  it("returns the prompt, with this machine's plan in it, for the assistant to write the program", async () => {
    const r = await coreFor({}).callTool('generate_program', { goal: 'tcp retransmits' });
    const g = r.structured as any;
    expect(g.mode).toBe('prompt');
    expect(g.ok).toBe(false);
    expect(g.prompt.system).toContain('```bpftrace');
    expect(g.prompt.user).toContain('Request: tcp retransmits');
    expect(r.text).toContain('validate_program');
  });
});
