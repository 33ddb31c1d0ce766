import nodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { createHttpServer, type HttpAuth } from '../../src/mcp/http.js';
import type { Principal } from '../../src/mcp/auth/principal.js';

// 2025-era sessions over HTTP, in process: a real node:http server and fetch, with a token check
// that knows two callers (the token store itself is tested in test/auth). No trace runs here.

const PRINCIPALS: Record<string, Principal> = {
  'token-a': { kind: 'token', name: 'alice', scopes: ['trace:read', 'trace:run'] },
  'token-b': { kind: 'token', name: 'bob', scopes: ['trace:read', 'trace:run'] },
};
const auth: HttpAuth = {
  kind: 'tokens',
  verify: async (t) => (PRINCIPALS[t] ? { ok: true, principal: PRINCIPALS[t] } : { ok: false, reason: 'unknown', message: 'unknown token' }),
};

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

describe('2025 sessions over HTTP', () => {
  const core = new Core({ env: { HOME: '/nonexistent' } });
  let http: ReturnType<typeof createHttpServer>;
  let url: string;

  beforeAll(async () => {
    http = createHttpServer(core, {
      host: '127.0.0.1',
      port: 0,
      auth,
      requestsPerMinute: 10_000,
      maxRunsPerCaller: 4,
      sessions: { max: 3, perCaller: 2, idleMs: 1500 },
      log: () => undefined,
    });
    await new Promise<void>((r) => http.server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    await http.close();
    await core.shutdown();
  });

  const post = (token: string, body: unknown, session?: string, method = 'POST') =>
    fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        ...(session ? { 'mcp-session-id': session } : {}),
      },
      body: method === 'POST' ? JSON.stringify(body) : undefined,
    });

  async function open(token: string): Promise<string> {
    const r = await post(token, INIT);
    expect(r.status).toBe(200);
    await r.text();
    const id = r.headers.get('mcp-session-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await (await post(token, { jsonrpc: '2.0', method: 'notifications/initialized' }, id!)).text();
    return id!;
  }

  const listStatus = async (token: string, session: string) => {
    const r = await post(token, LIST, session);
    const body = await r.text();
    return { status: r.status, body };
  };

  it('an initialize opens a session that answers only its owner', async () => {
    const id = await open('token-a');
    const mine = await listStatus('token-a', id);
    expect(mine.status).toBe(200);
    expect(mine.body).toContain('exec_program');
    // Another caller presenting the id is told it does not exist.
    const theirs = await listStatus('token-b', id);
    expect(theirs.status).toBe(404);
    expect(theirs.body).toMatch(/not found: it ended, expired .* or is not yours; initialize again/);
  });

  it('DELETE ends a session', async () => {
    const id = await open('token-a');
    expect((await post('token-a', undefined, id, 'DELETE')).status).toBe(200);
    expect((await listStatus('token-a', id)).status).toBe(404);
  });

  it('a caller at its limit loses its least recently used idle session, not someone else', async () => {
    const bob = await open('token-b');
    const a1 = await open('token-a');
    const a2 = await open('token-a');
    await listStatus('token-a', a1); // a1 is now more recently used than a2
    const a3 = await open('token-a');
    expect((await listStatus('token-a', a2)).status).toBe(404);
    for (const id of [a1, a3]) expect((await listStatus('token-a', id)).status).toBe(200);
    expect((await listStatus('token-b', bob)).status).toBe(200);
  });

  it('an idle session expires', async () => {
    const id = await open('token-b');
    await new Promise((r) => setTimeout(r, 1700));
    // The sweep runs when a session opens (and on a timer).
    await open('token-a');
    expect((await listStatus('token-b', id)).status).toBe(404);
  });

  it('a request without a session id is served statelessly, as before', async () => {
    const r = await post('token-a', LIST);
    expect(r.status).toBe(200);
    expect(r.headers.get('mcp-session-id')).toBeNull();
    expect(await r.text()).toContain('exec_program');
  });
});

describe('a web client on another origin (--allowed-origin)', () => {
  const core = new Core({ env: { HOME: '/nonexistent' } });
  let http: ReturnType<typeof createHttpServer>;
  let port: number;

  beforeAll(async () => {
    http = createHttpServer(core, {
      host: '127.0.0.1',
      port: 0,
      auth,
      allowedOrigins: ['https://app.example.com'],
      requestsPerMinute: 10_000,
      maxRunsPerCaller: 4,
      log: () => undefined,
    });
    await new Promise<void>((r) => http.server.listen(0, '127.0.0.1', () => r()));
    port = (http.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await http.close();
    await core.shutdown();
  });

  /** node:http, which (unlike fetch) sends an Origin header as given, as a browser would. */
  const request = (method: string, origin: string, body?: string) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = nodeHttp.request(
        {
          host: '127.0.0.1',
          port,
          path: '/mcp',
          method,
          headers: {
            origin,
            authorization: 'Bearer token-a',
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'access-control-request-method': 'POST',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('answers the allowed origin, with CORS headers naming it', async () => {
    const pre = await request('OPTIONS', 'https://app.example.com');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const call = await request('POST', 'https://app.example.com', JSON.stringify(LIST));
    expect(call.status).toBe(200);
    expect(call.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('refuses every other origin with 403', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net', 'http://app.example.com', 'https://app.example.com:8443', 'null']) {
      const r = await request('POST', origin, JSON.stringify(LIST));
      expect(r.status, origin).toBe(403);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});

describe('--no-auth (loopback only)', () => {
  const records: { who: string; via: string; tool: string }[] = [];
  const core = new Core({ env: { HOME: '/nonexistent' }, audit: { record: (r) => void records.push(r as never) } });
  let http: ReturnType<typeof createHttpServer>;
  let url: string;

  beforeAll(async () => {
    const none: HttpAuth = { kind: 'none', verify: async () => ({ ok: false, reason: 'unknown', message: 'authentication is off' }) };
    http = createHttpServer(core, { host: '127.0.0.1', port: 0, auth: none, requestsPerMinute: 10_000, maxRunsPerCaller: 4, log: () => undefined });
    await new Promise<void>((r) => http.server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    await http.close();
    await core.shutdown();
  });

  it('serves without a token, and audits the caller by its address, not as a token', async () => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_executions', arguments: {} } }),
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('"executions"');
    expect(records).toEqual([expect.objectContaining({ who: 'anonymous:127.0.0.1', via: 'http', tool: 'list_executions' })]);
  });
});
