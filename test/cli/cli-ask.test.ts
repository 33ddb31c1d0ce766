import { afterEach, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { describeKernel } from '../helpers/kernel.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';

// `mcptrace ask`, the GPTtrace experience, end to end: the real CLI, a real local
// OpenAI-compatible server replaying answers, the real bpftrace.
// No mechanical fix exists for an undefined variable on any version: it goes back to the model.
const WRONG = '```bpftrace\ninterval:ms:100 { printf("%d\\n", $nowhere); exit(); }\n```';
const PROGRAM = 'interval:ms:100 { @ticks++; if (@ticks == 3) { printf("ticked three times\\n"); exit(); } }';
// 0.17's if needs braces even for one statement, and a count() map cannot be compared.
const RIGHT = `\`\`\`bpftrace\n${PROGRAM}\n\`\`\``;
const EXPLANATION = 'The timer fired three times, as expected: @ticks is 3.';

const servers: OpenAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const model = async (...r: Parameters<typeof startOpenAiServer>[0]) => {
  const s = await startOpenAiServer(r);
  servers.push(s);
  return { s, env: { OPENAI_BASE_URL: s.url, MCPTRACE_MODEL: 'replay', HOME: '/nonexistent' } };
};

describeKernel('mcptrace ask', () => {
  it('--yes: writes, fixes, runs with live output, and explains', async () => {
    const { s, env } = await model({ content: WRONG }, { content: RIGHT }, { content: EXPLANATION });
    const run = runCli(['ask', 'tell me when a 100 ms timer has fired three times', '--yes', '--timeout', '20'], { env });
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toContain('attempt 1 did not pass');
    expect(run.stdout()).toContain(PROGRAM);
    expect(run.stdout()).toContain('ticked three times');
    expect(run.stdout()).toMatch(/@ticks: 3/);
    expect(run.stdout()).toContain(EXPLANATION);
    // The explanation request carried the question and the analysis of this run.
    const explain = s.requests[2].messages.at(-1)!.content;
    expect(explain).toContain('Question: tell me when a 100 ms timer has fired three times');
    expect(explain).toContain('@ticks');
  }, 120_000);

  it('--dry-run stops after the checked program; without a terminal or --yes nothing runs', async () => {
    const { env } = await model({ content: RIGHT }, { content: RIGHT });
    const dry = runCli(['ask', 'a timer', '--dry-run'], { env });
    expect(await dry.exited).toBe(0);
    expect(dry.stdout()).toContain(PROGRAM);
    expect(dry.stdout()).not.toContain('@ticks: 3');
    const piped = runCli(['ask', 'a timer'], { env });
    expect(await piped.exited).toBe(2);
    expect(piped.stderr()).toContain('Pass --yes to run it');
  }, 120_000);

  it('at a terminal, N declines and y runs', async () => {
    const { env } = await model({ content: RIGHT }, { content: RIGHT }, { content: EXPLANATION });
    const no = runCli(['ask', 'a timer'], { env, tty: true });
    await waitForText(() => no.stdout(), 'Run it? [y/N]');
    no.child.stdin!.write('n\n');
    expect(await no.exited).toBe(0);
    expect(no.stdout()).toContain('Not run.');
    const yes = runCli(['ask', 'a timer', '--timeout', '20'], { env, tty: true });
    await waitForText(() => yes.stdout(), 'Run it? [y/N]');
    yes.child.stdin!.write('y\n');
    expect(await yes.exited).toBe(0);
    expect(yes.stdout()).toContain('ticked three times');
    expect(yes.stdout()).toContain(EXPLANATION);
  }, 120_000);

  it('without a model: the plan and how to configure one, exit 3', async () => {
    const run = runCli(['ask', 'tcp retransmits'], { env: { OPENAI_BASE_URL: '', OPENAI_API_KEY: '', MCPTRACE_MODEL: '' } });
    expect(await run.exited).toBe(3);
    expect(run.stdout()).toContain('tracepoint:tcp:tcp_retransmit_skb');
    expect(run.stderr()).toContain('OPENAI_BASE_URL');
  }, 60_000);

  it('a rate-limited endpoint: a clear message, no program, exit 4', async () => {
    const { env } = await model({ status: 429, headers: { 'retry-after': '300' }, body: '{}' });
    const run = runCli(['ask', 'a timer', '--yes'], { env });
    expect(await run.exited).toBe(4);
    expect(run.stderr()).toContain('rate-limiting');
    expect(run.stderr()).toContain('Wait 300 s');
  }, 60_000);
});

async function waitForText(get: () => string, text: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!get().includes(text)) {
    if (Date.now() > end) throw new Error(`"${text}" never appeared; got:\n${get()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
