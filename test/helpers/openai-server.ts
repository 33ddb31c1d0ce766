import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted reply of the local OpenAI-compatible server. */
export type Reply =
  | { content: string; model?: string }
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Never answers: the client's timeout must fire. */
  | { hang: true }
  /** 200 with a body that is not a chat completion. */
  | { raw: string };

export interface OpenAiServer {
  url: string;
  /** Every request body received, in order. */
  requests: { messages: { role: string; content: string }[]; model: string; authorization?: string }[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API and replays
 * scripted replies in order (recorded answers, wrong programs, errors). The client under test
 * goes through fetch, sockets and JSON exactly as it would against llama.cpp or a hosted API.
 */
export async function startOpenAiServer(replies: Reply[]): Promise<OpenAiServer> {
  const requests: OpenAiServer['requests'] = [];
  const queue = [...replies];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const parsed = JSON.parse(body) as { messages: { role: string; content: string }[]; model: string };
      requests.push({ messages: parsed.messages, model: parsed.model, authorization: req.headers.authorization });
      const r = queue.shift() ?? { status: 500, body: JSON.stringify({ error: { message: 'the test scripted no more replies' } }) };
      if ('hang' in r) return void hanging.push(res);
      if ('raw' in r) return void res.writeHead(200, { 'content-type': 'application/json' }).end(r.raw);
      if ('status' in r) return void res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) }).end(r.body ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          model: r.model ?? parsed.model,
          choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 100, completion_tokens: 50 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const h of hanging) h.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
