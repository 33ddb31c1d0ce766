import { MODEL_MAX_RETRIES, MODEL_MAX_RETRY_WAIT_MS, MODEL_MAX_ANSWER_BYTES } from '../config/defaults.js';
import type { OpenAiConfig } from './config.js';
import { ModelError, type ChatMessage, type CompleteOptions, type ModelAnswer, type ModelProvider } from './provider.js';

/** Seconds (or an HTTP date) from a Retry-After header, as milliseconds; undefined if absent. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header.trim());
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new ModelError('cancelled', 'the request was cancelled while waiting to retry', 'Nothing to fix: it was cancelled.'));
      },
      { once: true },
    );
  });

/**
 * A chat-completions client for any OpenAI-compatible server: llama.cpp's server, Ollama,
 * vLLM, hosted APIs. Plain fetch, no SDK: one endpoint and four failure modes are all it needs.
 * A 429 is retried after its Retry-After (bounded); everything else fails at once with a
 * message that says what to change.
 */
export class OpenAiProvider implements ModelProvider {
  readonly name = 'openai' as const;
  readonly describe: string;

  constructor(private readonly cfg: OpenAiConfig) {
    this.describe = `${cfg.model} at ${new URL(cfg.baseUrl).origin}`;
  }

  async complete(messages: readonly ChatMessage[], opts: CompleteOptions = {}): Promise<ModelAnswer> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.post(messages, opts);
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after')) ?? 1000 * 2 ** attempt;
        await res.body?.cancel();
        if (attempt < MODEL_MAX_RETRIES && wait <= MODEL_MAX_RETRY_WAIT_MS) {
          await sleep(wait, opts.signal);
          continue;
        }
        throw new ModelError(
          'rate_limit',
          `${this.describe} is rate-limiting requests (HTTP 429${res.headers.get('retry-after') ? `, retry after ${res.headers.get('retry-after')} s` : ''}); gave up after ${attempt + 1} tries`,
          `Wait ${Math.ceil(wait / 1000)} s and try again, or use a model with a higher quota.`,
        );
      }
      return this.answer(res);
    }
  }

  private async post(messages: readonly ChatMessage[], opts: CompleteOptions): Promise<Response> {
    const timeout = AbortSignal.timeout(this.cfg.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    try {
      return await fetch(`${this.cfg.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.cfg.model, messages, temperature: 0.2, ...(opts.maxTokens ? { max_tokens: opts.maxTokens } : {}) }),
        signal,
      });
    } catch (e) {
      if (timeout.aborted)
        throw new ModelError(
          'timeout',
          `${this.describe} did not answer within ${this.cfg.timeoutMs / 1000} s`,
          'Check that the server is up and not overloaded, or allow more time with MCPTRACE_MODEL_TIMEOUT=SECONDS.',
        );
      if (opts.signal?.aborted) throw new ModelError('cancelled', 'the request was cancelled', 'Nothing to fix: it was cancelled.');
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ModelError(
        'network',
        `cannot reach ${this.cfg.baseUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
        'Check OPENAI_BASE_URL and that the server is running (e.g. llama-server --port 8080, ollama serve).',
      );
    }
  }

  private async answer(res: Response): Promise<ModelAnswer> {
    const text = await readBounded(res);
    if (res.status === 401 || res.status === 403) {
      throw new ModelError(
        'auth',
        `${this.describe} refused the credentials (HTTP ${res.status}): ${errorText(text)}`,
        this.cfg.apiKey ? 'OPENAI_API_KEY was rejected: set a valid key for this server.' : 'This server needs a key: set OPENAI_API_KEY.',
      );
    }
    if (!res.ok) {
      throw new ModelError(
        'http',
        `${this.describe} answered HTTP ${res.status}: ${errorText(text)}`,
        res.status === 404
          ? `Check the model name (MCPTRACE_MODEL=${this.cfg.model}) and that OPENAI_BASE_URL ends at the API root (…/v1).`
          : "Check the server's log; try again later.",
      );
    }
    let body: { model?: unknown; choices?: { message?: { content?: unknown } }[]; usage?: ModelAnswer['usage'] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw malformed(this.describe, `not JSON: ${text.slice(0, 200)}`);
    }
    const content = body?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw malformed(this.describe, 'no choices[0].message.content string in the answer');
    return {
      text: content,
      model: typeof body.model === 'string' ? body.model : this.cfg.model,
      provider: 'openai',
      ...(body.usage ? { usage: body.usage } : {}),
    };
  }
}

const malformed = (who: string, what: string) =>
  new ModelError(
    'malformed',
    `${who} sent an answer that is not an OpenAI chat completion (${what})`,
    'Check that OPENAI_BASE_URL points at an OpenAI-compatible /v1 API.',
  );

/** The error a server put in its body, short. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) return m.slice(0, 300);
  } catch {
    // not JSON: the raw text
  }
  return text.trim().slice(0, 300) || '(empty body)';
}

/** The body, refused past MODEL_MAX_ANSWER_BYTES: a model answer is a few KiB. */
async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MODEL_MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new ModelError(
        'malformed',
        `the answer passed ${MODEL_MAX_ANSWER_BYTES} bytes and was not read`,
        'Lower max_tokens, or check that OPENAI_BASE_URL is an OpenAI-compatible API.',
      );
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}
