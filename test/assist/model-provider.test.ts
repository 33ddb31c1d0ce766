import { afterEach, describe, expect, it } from 'vitest';
import { chooseProvider } from '../../src/model/choose.js';
import { openAiConfig } from '../../src/model/config.js';
import { extractProgram } from '../../src/model/extract.js';
import { OpenAiProvider, retryAfterMs } from '../../src/model/openai.js';
import { ModelError } from '../../src/model/provider.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';

const servers: OpenAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const serve = async (...r: Parameters<typeof startOpenAiServer>[0]) => {
  const s = await startOpenAiServer(r);
  servers.push(s);
  return s;
};
const provider = (s: OpenAiServer, env: Record<string, string> = {}) =>
  new OpenAiProvider(openAiConfig({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: 'sk-test', MCPTRACE_MODEL: 'tiny', ...env })!);
const failure = async (p: Promise<unknown>): Promise<ModelError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ModelError);
  return e as ModelError;
};
const ask = [{ role: 'user' as const, content: 'hi' }];

describe('an OpenAI-compatible endpoint over real HTTP', () => {
  it('sends the model, the key and the messages, and returns the answer', async () => {
    const s = await serve({ content: 'hello', model: 'tiny-q4' });
    const a = await provider(s).complete(ask);
    expect(a).toMatchObject({ text: 'hello', model: 'tiny-q4', provider: 'openai' });
    expect(s.requests[0]).toMatchObject({ model: 'tiny', authorization: 'Bearer sk-test', messages: ask });
  });

  it('401: says the key was rejected', async () => {
    const s = await serve({ status: 401, body: JSON.stringify({ error: { message: 'Incorrect API key provided' } }) });
    const e = await failure(provider(s).complete(ask));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('refused the credentials (HTTP 401): Incorrect API key provided');
    expect(e.hint).toContain('OPENAI_API_KEY was rejected');
  });

  it('429 with Retry-After: waits as told and tries again', async () => {
    const s = await serve({ status: 429, headers: { 'retry-after': '1' }, body: '{}' }, { content: 'after the wait' });
    const a = await provider(s).complete(ask);
    expect(a.text).toBe('after the wait');
    expect(s.requests).toHaveLength(2);
  });

  it('429 with a Retry-After too long to wait for: a rate_limit error that says when to retry', async () => {
    const s = await serve({ status: 429, headers: { 'retry-after': '120' }, body: '{}' });
    const e = await failure(provider(s).complete(ask));
    expect(e.kind).toBe('rate_limit');
    expect(e.message).toContain('retry after 120 s');
    expect(e.hint).toContain('Wait 120 s');
    expect(s.requests).toHaveLength(1);
  });

  it('a server that never answers: a timeout error naming the setting', async () => {
    const s = await serve({ hang: true });
    const e = await failure(provider(s, { MCPTRACE_MODEL_TIMEOUT: '1' }).complete(ask));
    expect(e.kind).toBe('timeout');
    expect(e.message).toContain('did not answer within 1 s');
    expect(e.hint).toContain('MCPTRACE_MODEL_TIMEOUT');
  });

  it('a malformed answer: says it is not a chat completion', async () => {
    const s = await serve({ raw: '{"choices": []}' }, { raw: 'not json at all' });
    const e1 = await failure(provider(s).complete(ask));
    expect(e1.kind).toBe('malformed');
    expect(e1.message).toContain('no choices[0].message.content');
    const e2 = await failure(provider(s).complete(ask));
    expect(e2.message).toContain('not JSON: not json at all');
  });

  it('a 404 for an unknown model points at the model name', async () => {
    const s = await serve({ status: 404, body: JSON.stringify({ error: { message: 'model "tiny" not found' } }) });
    const e = await failure(provider(s).complete(ask));
    expect(e.kind).toBe('http');
    expect(e.hint).toContain('MCPTRACE_MODEL=tiny');
  });

  it('nothing listening: a network error that names the URL', async () => {
    const s = await serve();
    const url = s.url;
    await s.close();
    servers.length = 0;
    const e = await failure(new OpenAiProvider(openAiConfig({ OPENAI_BASE_URL: url, MCPTRACE_MODEL: 'x' })!).complete(ask));
    expect(e.kind).toBe('network');
    expect(e.message).toContain(url);
    expect(e.message).toContain('ECONNREFUSED');
  });
});

describe('which model', () => {
  it('none configured and no sampling: no provider (the prompt is returned instead)', () => {
    expect(chooseProvider({ env: {} })).toBeUndefined();
  });
  it('an endpoint wins over sampling; sampling is the fallback', () => {
    const sample = async () => ({ text: '', model: 'client' });
    expect(chooseProvider({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', MCPTRACE_MODEL: 'm' }, sample })?.name).toBe('openai');
    expect(chooseProvider({ env: {}, sample })?.name).toBe('sampling');
  });
  it('half a configuration is an error that says what is missing', () => {
    expect(() => openAiConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' })).toThrow(/no model is named/);
    expect(() => openAiConfig({ OPENAI_BASE_URL: 'not a url', MCPTRACE_MODEL: 'm' })).toThrow(/not a URL/);
    expect(() => openAiConfig({ OPENAI_BASE_URL: 'file:///etc/passwd', MCPTRACE_MODEL: 'm' })).toThrow(/must be http or https/);
    expect(() => openAiConfig({}, 'llama3')).toThrow(/no endpoint is configured/);
    expect(openAiConfig({ OPENAI_API_KEY: 'k' }, 'gpt-4o')).toMatchObject({ baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o' });
  });
  it('Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('the program in an answer', () => {
  it('takes the bpftrace block, else any block that is a program, else a bare program', () => {
    expect(extractProgram('Here:\n```python\nprint(1)\n```\n```bpftrace\nBEGIN { exit(); }\n```\nDone.')).toBe('BEGIN { exit(); }');
    expect(extractProgram('```\ntracepoint:sched:sched_switch { @[comm] = count(); }\n```')).toBe('tracepoint:sched:sched_switch { @[comm] = count(); }');
    expect(extractProgram('tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }')).toBe('tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }');
    expect(extractProgram('I cannot help with that.')).toBeUndefined();
  });
});
