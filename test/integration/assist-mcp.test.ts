import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '../helpers/kernel.js';
import { BIN } from '../helpers/mcp.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';

// plan_trace, generate_program and explain_result over MCP, in the three model modes: the
// operator's endpoint, the client's sampling, and none (the prompt comes back).
const PROGRAM = 'interval:ms:50 { @ticks++; if (@ticks == 4) { exit(); } }';
const ANSWER = `\`\`\`bpftrace\n${PROGRAM}\n\`\`\``;

const open: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function connect(env: Record<string, string>, sampling?: (system: string, last: string) => string) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'serve'],
    env: { ...(process.env as Record<string, string>), OPENAI_BASE_URL: '', OPENAI_API_KEY: '', MCPTRACE_MODEL: '', ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'assist-test', version: '1.0.0' }, { capabilities: sampling ? { sampling: {} } : {} });
  const asked: string[] = [];
  if (sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const last = req.params.messages.at(-1)!.content as { text: string };
      asked.push(last.text);
      return { role: 'assistant', model: 'client-model', content: { type: 'text', text: sampling(req.params.systemPrompt ?? '', last.text) } };
    });
  }
  await client.connect(transport);
  await client.listTools();
  open.push(client);
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as any;
  return { call, asked };
}

describeKernel('the question-to-trace tools over MCP', () => {
  it('plan_trace answers within its token budget, with probes and their arguments', async () => {
    const { call } = await connect({});
    for (const budget of [2000, 600]) {
      const p = (await call('plan_trace', { goal: 'why is the disk slow?', budget_tokens: budget })).structuredContent;
      expect(p.budget.used).toBeLessThanOrEqual(budget);
      expect(JSON.stringify(p).length / 4).toBeLessThanOrEqual(budget + 1);
      expect(p.probes.map((x: any) => x.probe)).toContain('tracepoint:block:block_rq_issue');
      expect(p.probes.find((x: any) => x.probe === 'tracepoint:block:block_rq_issue').args.join(' ')).toContain('sector');
    }
  });

  it('an OpenAI-compatible endpoint writes the program; explain_result explains the run', async () => {
    const s: OpenAiServer = await startOpenAiServer([{ content: ANSWER }, { content: 'It ticked four times.' }]);
    open.push(s);
    const { call } = await connect({ OPENAI_BASE_URL: s.url, MCPTRACE_MODEL: 'replay' });
    const g = (await call('generate_program', { goal: 'count four timer ticks' })).structuredContent;
    expect(g).toMatchObject({ mode: 'model', ok: true, program: PROGRAM, model: { provider: 'openai' } });
    const run = (await call('exec_program', { program: g.program, wait: true, timeout: 20 })).structuredContent;
    expect(run.status).toBe('completed');
    const ex = (await call('explain_result', { execution_id: run.execution_id, question: 'count four timer ticks' })).structuredContent;
    expect(ex).toMatchObject({ mode: 'model', explanation: 'It ticked four times.' });
    expect(s.requests[1].messages.at(-1)!.content).toContain('@ticks');
  });

  it("with no endpoint, the client's sampling writes the program and explains", async () => {
    const { call, asked } = await connect({}, (system) => (system.includes('explain') ? 'Four ticks.' : ANSWER));
    const g = (await call('generate_program', { goal: 'count four timer ticks' })).structuredContent;
    expect(g).toMatchObject({ mode: 'model', ok: true, program: PROGRAM, model: { provider: 'sampling', name: 'client-model' } });
    expect(asked[0]).toContain('Request: count four timer ticks');
    const run = (await call('exec_program', { program: g.program, wait: true, timeout: 20 })).structuredContent;
    const ex = (await call('explain_result', { execution_id: run.execution_id })).structuredContent;
    expect(ex).toMatchObject({ mode: 'model', explanation: 'Four ticks.' });
  });

  it('with neither, the prompt comes back for the assistant to write and explain', async () => {
    const { call } = await connect({});
    const g = (await call('generate_program', { goal: 'count four timer ticks' })).structuredContent;
    expect(g).toMatchObject({ mode: 'prompt', ok: false, program: null });
    expect(g.prompt.user).toContain('Request: count four timer ticks');
    const run = (await call('exec_program', { program: PROGRAM, wait: true, timeout: 20 })).structuredContent;
    const ex = (await call('explain_result', { execution_id: run.execution_id })).structuredContent;
    expect(ex).toMatchObject({ mode: 'prompt', explanation: null });
    expect(ex.analysis.summary).toContain('@ticks');
    expect(ex.prompt.user).toContain('@ticks');
  });
});
