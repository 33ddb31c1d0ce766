import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenStore, tokenFile } from '../../src/mcp/auth/tokens.js';
import { BIN } from '../helpers/mcp.js';
import { callBody, createToken, curl, httpClient, INITIALIZE, startHttpServer, type HttpServer } from '../helpers/http.js';
import { describeKernel } from '../helpers/kernel.js';

// A real `mcptrace serve --http` on loopback, real tokens in a real state directory, real
// bpftrace behind it; curl for the raw status codes and the SDK v2 client for both eras.

const MAP_PROGRAM = 'interval:ms:100 { @ticks[comm] = count(); } interval:s:30 { exit(); }';

describeKernel('serve --http: authentication, scopes and the transport checks', () => {
  let s: HttpServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'mcptrace-http-auth-'));
    tokens.alice = createToken(stateDir, 'alice');
    tokens.reader = createToken(stateDir, 'reader', ['--scopes', 'trace:read']);
    tokens.admin = createToken(stateDir, 'root-ops', ['--scopes', 'trace:read,trace:run,trace:admin']);
    tokens.gone = createToken(stateDir, 'gone');
    tokens.limited = createToken(stateDir, 'limited', ['--rpm', '20']);
    tokens.onerun = createToken(stateDir, 'onerun', ['--max-runs', '1']);
    execFileSync(process.execPath, [BIN, 'token', 'revoke', 'gone'], { env: { ...process.env, MCPTRACE_STATE_DIR: stateDir }, stdio: 'ignore' });
    // A token that expired yesterday: made by a store whose clock is two days behind.
    const past = new TokenStore(tokenFile(stateDir), { now: () => Date.now() - 2 * 86400_000 }).create('old', { expires: '1d' });
    if (!past.ok) throw new Error(past.message);
    tokens.old = past.token;
    s = await startHttpServer([], { MCPTRACE_STATE_DIR: stateDir });
  });
  afterAll(async () => {
    expect(await s.stop()).toBe(0);
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('serves a 2025 client (initialize) and a 2026-07-28 client (server/discover) the same tools, with progress', async () => {
    for (const era of ['legacy', 'modern'] as const) {
      const client = await httpClient(s.url, tokens.alice, era);
      expect(client.getProtocolEra()).toBe(era);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_probes', 'bpf_info', 'exec_program', 'get_result']));
      const progress: string[] = [];
      const r = await client.callTool(
        { name: 'exec_program', arguments: { program: 'interval:ms:200 { @n = count(); } interval:s:1 { exit(); }', wait: true, include_maps: true } },
        { onprogress: (p) => progress.push(String(p.message)) },
      );
      expect(r.structuredContent).toMatchObject({ status: 'completed', exit_code: 0 });
      expect(JSON.stringify(r.structuredContent)).toContain('"@n"');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.join('\n')).toMatch(/lines after/);
      await client.close();
    }
  });

  it('answers a missing, malformed, unknown, revoked and expired token with 401 and a Bearer challenge', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no Authorization header/],
      [{ authorization: 'Basic YWxpY2U6eA==' }, /not "Bearer TOKEN"/],
      [bearer('mcpt_' + 'A'.repeat(43)), /not one this server knows/],
      [bearer(tokens.gone), /revoked/],
      [bearer(tokens.old), /expired/],
    ];
    for (const [headers, why] of cases) {
      const r = curl(s.url, { body: INITIALIZE, headers });
      expect(r.status, JSON.stringify(headers)).toBe(401);
      // RFC 6750 3.1: no credentials at all, no error code; bad ones are invalid_token.
      expect(r.headers['www-authenticate']).toMatch(headers.authorization ? /^Bearer error="invalid_token"/ : /^Bearer realm="mcptrace"$/);
      expect(JSON.parse(r.body).error.message).toMatch(why);
    }
    expect(curl(s.url, { body: INITIALIZE, headers: bearer(tokens.alice) }).status).toBe(200);
  });

  it('refuses a call beyond the token scope with 403 and a challenge naming the scope it needs', () => {
    const run = curl(s.url, { body: callBody('exec_program', { program: 'BEGIN { exit(); }' }), headers: bearer(tokens.reader) });
    expect(run.status).toBe(403);
    expect(run.headers['www-authenticate']).toMatch(/error="insufficient_scope".*scope="trace:run"/);
    expect(JSON.parse(run.body)).toMatchObject({
      id: 7,
      error: { message: expect.stringMatching(/exec_program needs the trace:run scope; token:reader has trace:read/) },
    });
    // Reading needs only trace:read.
    expect(curl(s.url, { body: callBody('list_executions', {}), headers: bearer(tokens.reader) }).status).toBe(200);
    // bpftrace --unsafe needs trace:admin, which a default token lacks and an admin token has.
    const unsafe = callBody('exec_program', { program: 'BEGIN { exit(); }', unsafe: true, dry_run: true });
    const denied = curl(s.url, { body: unsafe, headers: bearer(tokens.alice) });
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/scope="trace:admin"/);
    expect(curl(s.url, { body: unsafe, headers: bearer(tokens.admin) }).status).toBe(200);
  });

  it('answers a foreign Host, a foreign Origin and a DNS-rebinding page with 403', () => {
    const ok = bearer(tokens.alice);
    expect(curl(s.url, { body: INITIALIZE, headers: { ...ok, host: 'attacker.example' } }).status).toBe(403);
    expect(curl(s.url, { body: INITIALIZE, headers: { ...ok, origin: 'https://attacker.example' } }).status).toBe(403);
    // Rebinding: the attacker's name resolves to 127.0.0.1, so the browser sends its own name as Host.
    const rebound = curl(`http://rebind.attacker.example:${s.port}/mcp`, {
      body: INITIALIZE,
      headers: { ...ok, origin: `http://rebind.attacker.example:${s.port}` },
      extra: ['--resolve', `rebind.attacker.example:${s.port}:127.0.0.1`],
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Invalid Host/);
    // The server's own origin (a page it could serve) is allowed.
    expect(curl(s.url, { body: INITIALIZE, headers: { ...ok, origin: `http://127.0.0.1:${s.port}` } }).status).toBe(200);
  });

  it('lets a web client on an allowed origin through CORS: the preflight, then the call', () => {
    // A page of the server itself (any of its names, its port); another local port is another origin.
    expect(curl(s.url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } }).status).toBe(403);
    const origin = `http://localhost:${s.port}`;
    const pre = curl(s.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version' },
    });
    // A preflight carries no token: it is answered before authentication, for allowed origins only.
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(origin);
    expect(pre.headers['access-control-allow-headers']).toMatch(/authorization.*content-type.*mcp-protocol-version.*mcp-session-id/);
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
    const call = curl(s.url, { body: INITIALIZE, headers: { ...bearer(tokens.alice), origin } });
    expect(call.status).toBe(200);
    expect(call.headers['access-control-allow-origin']).toBe(origin);
    expect(call.headers['access-control-expose-headers']).toMatch(/mcp-session-id/);
    // A page elsewhere gets neither.
    const foreign = curl(s.url, { method: 'OPTIONS', headers: { origin: 'https://attacker.example', 'access-control-request-method': 'POST' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('bounds request bodies as stdio does and answers malformed JSON instead of dropping the connection', () => {
    const big = callBody('validate_program', { program: `BEGIN { printf("${'x'.repeat(5 * 1024 * 1024)}"); }` });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mcptrace-big-')), 'body.json');
    writeFileSync(file, big);
    const r = curl(s.url, { body: `@${file}`, headers: bearer(tokens.alice) });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.message).toMatch(/over the 4194304-byte limit/);
    const bad = curl(s.url, { body: '{"jsonrpc": "2.0", "id": 1, "method": ', headers: bearer(tokens.alice) });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ code: -32700, message: expect.stringMatching(/^Parse error/) });
    // The server goes on serving.
    expect(curl(s.url, { body: INITIALIZE, headers: bearer(tokens.alice) }).status).toBe(200);
  });

  it("enforces a token's requests per minute with 429 and Retry-After", () => {
    const statuses: number[] = [];
    let retryAfter = '';
    for (let i = 0; i < 30; i++) {
      const r = curl(s.url, { body: INITIALIZE, headers: bearer(tokens.limited) });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers['retry-after'];
    }
    expect(statuses.filter((x) => x === 200)).toHaveLength(20);
    expect(statuses.filter((x) => x === 429)).toHaveLength(10);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Another caller is not affected.
    expect(curl(s.url, { body: INITIALIZE, headers: bearer(tokens.alice) }).status).toBe(200);
  });

  it("enforces a token's concurrent runs, and says which run to stop", async () => {
    const client = await httpClient(s.url, tokens.onerun, 'modern');
    const first = await client.callTool({ name: 'exec_program', arguments: { program: MAP_PROGRAM } });
    const id = (first.structuredContent as { execution_id: string }).execution_id;
    expect(id).toMatch(/^exec-/);
    const second = await client.callTool({ name: 'exec_program', arguments: { program: MAP_PROGRAM } });
    expect(second.isError).toBe(true);
    expect(JSON.stringify(second.content)).toContain(`token:onerun already has 1 run running`);
    expect(JSON.stringify(second.content)).toContain(id);
    const stopped = await client.callTool({ name: 'stop_execution', arguments: { execution_id: id } });
    expect(stopped.structuredContent).toMatchObject({ status: 'stopped' });
    const third = await client.callTool({ name: 'exec_program', arguments: { program: 'BEGIN { exit(); }', wait: true } });
    expect(third.structuredContent).toMatchObject({ status: 'completed' });
    await client.close();
  });

  /** Waits until a running run of `client` has attached, and returns its id. */
  async function attachedRun(client: Awaited<ReturnType<typeof httpClient>>): Promise<string> {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = await client.callTool({ name: 'list_executions', arguments: { status: 'running' } });
      const e = (list.structuredContent as { executions: { execution_id: string; phase: string }[] }).executions.find((x) => x.phase.startsWith('attached'));
      if (e) return e.execution_id;
    }
    throw new Error('the run never attached');
  }

  /** The run's final state, once SIGINT has let it print its maps. */
  async function finalState(client: Awaited<ReturnType<typeof httpClient>>, id: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const r = await client.callTool({ name: 'get_result', arguments: { execution_id: id, include_maps: true } });
      const st = r.structuredContent as Record<string, unknown>;
      if (st.status !== 'running') return st;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${id} is still running`);
  }

  it('a cancelled call stops its trace with SIGINT, and the maps are kept, in both eras', async () => {
    for (const era of ['legacy', 'modern'] as const) {
      const client = await httpClient(s.url, tokens.alice, era);
      const abort = new AbortController();
      const call = client.callTool({ name: 'exec_program', arguments: { program: MAP_PROGRAM, wait: true } }, { signal: abort.signal }).catch((e: Error) => e);
      const id = await attachedRun(client);
      await new Promise((r) => setTimeout(r, 500));
      abort.abort('the user clicked Stop');
      expect(await call).toBeInstanceOf(Error);
      const final = await finalState(client, id);
      expect(final, era).toMatchObject({ status: 'stopped' });
      expect(JSON.stringify(final.maps), era).toContain('@ticks');
      await client.close();
    }
  });

  it('a client that drops its connection mid-trace stops the run with SIGINT, and the maps are kept', async () => {
    const client = await httpClient(s.url, tokens.alice, 'modern');
    // A raw 2025-style POST whose connection is cut, as a crashed client's would be.
    const drop = new AbortController();
    const raw = fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tokens.alice}` },
      body: callBody('exec_program', { program: MAP_PROGRAM, wait: true }),
      signal: drop.signal,
    }).catch((e: Error) => e);
    const id = await attachedRun(client);
    await new Promise((r) => setTimeout(r, 500));
    drop.abort();
    await raw;
    const final = await finalState(client, id);
    expect(final).toMatchObject({ status: 'stopped' });
    expect(JSON.stringify(final.maps)).toContain('@ticks');
    await client.close();
  });

  it('audits every call: who, the tool, the program, the verdict, the outcome and the execution id', () => {
    const out = execFileSync(process.execPath, [BIN, 'audit', '--who', 'token:alice', '--tool', 'exec_program', '--json', '--limit', '50'], {
      env: { ...process.env, MCPTRACE_STATE_DIR: s.stateDir },
      encoding: 'utf8',
    });
    const entries = JSON.parse(out) as Record<string, unknown>[];
    expect(entries.length).toBeGreaterThanOrEqual(2);
    const ran = entries.find((e) => e.executionId && e.outcome === 'ok');
    expect(ran).toMatchObject({ who: 'token:alice', via: 'http', tool: 'exec_program', verdict: 'allow', program: expect.stringContaining('interval:') });
    expect(ran?.remote).toMatch(/127\.0\.0\.1/);
    // A call refused for its scope never reached the tool, but is in the audit all the same.
    const all = execFileSync(process.execPath, [BIN, 'audit', '--json', '--limit', '1000'], {
      env: { ...process.env, MCPTRACE_STATE_DIR: s.stateDir },
      encoding: 'utf8',
    });
    expect(JSON.parse(all)).toContainEqual(
      expect.objectContaining({ who: 'token:reader', via: 'http', tool: 'exec_program', verdict: 'scope', outcome: 'error:scope' }),
    );
    // No token's text is ever written down.
    for (const t of Object.values(tokens)) expect(all).not.toContain(t);
  });
});

describe('serve --http: TLS and where it may listen', () => {
  it('serves https with a self-signed certificate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const s = await startHttpServer(['--tls-cert', cert, '--tls-key', key]);
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const token = createToken(s.stateDir, 'tls');
      const r = curl(s.url, { body: INITIALIZE, headers: { authorization: `Bearer ${token}` }, extra: ['--cacert', cert] });
      expect(r.status).toBe(200);
      expect(r.body).toContain('"serverInfo"');
      // Without trusting the certificate, curl refuses it: the channel is really TLS.
      const untrusted = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', s.url], { encoding: 'utf8' });
      expect(untrusted.status).not.toBe(0);
    } finally {
      await s.stop();
    }
  });

  it('refuses to listen beyond loopback without TLS, or without authentication', () => {
    const serve = (args: string[]) =>
      spawnSync(process.execPath, [BIN, 'serve', ...args], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, MCPTRACE_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'mcptrace-bind-')) },
      });
    const plain = serve(['--http', '0.0.0.0:0']);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toMatch(/refusing to listen on 0\.0\.0\.0, beyond loopback, without TLS \(--tls-cert FILE --tls-key FILE\)/);
    const open = serve(['--http', '0.0.0.0:0', '--no-auth', '--tls-cert', '/etc/hostname', '--tls-key', '/etc/hostname']);
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/without authentication \(drop --no-auth\)/);
    const half = serve(['--http', '127.0.0.1:0', '--tls-cert', '/etc/hostname']);
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
  });
});

describeKernel('serve --http: OAuth resource server', () => {
  let issuer: http.Server;
  let issuerUrl: string;
  let sign: (claims: Record<string, unknown>, exp?: string | number) => Promise<string>;
  let s: HttpServer;
  const AUDIENCE = 'http://mcptrace.test/mcp';

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    issuer = http.createServer((req, res) => {
      const doc =
        req.url === '/.well-known/oauth-authorization-server'
          ? { issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks`, authorization_endpoint: `${issuerUrl}/authorize`, token_endpoint: `${issuerUrl}/token` }
          : req.url === '/jwks'
            ? { keys: [jwk] }
            : undefined;
      res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc ?? {}));
    });
    await new Promise<void>((r) => issuer.listen(0, '127.0.0.1', r));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    sign = (claims, exp = '5m') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuerUrl)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(privateKey);
    s = await startHttpServer(['--oauth-issuer', issuerUrl, '--oauth-audience', AUDIENCE]);
  });
  afterAll(async () => {
    await s?.stop();
    issuer?.close();
  });

  it('publishes RFC 9728 metadata and points its 401 challenge at it', () => {
    const meta = curl(`http://127.0.0.1:${s.port}/.well-known/oauth-protected-resource/mcp`, { method: 'GET' });
    expect(meta.status).toBe(200);
    expect(JSON.parse(meta.body)).toMatchObject({
      resource: AUDIENCE,
      authorization_servers: [issuerUrl],
      scopes_supported: ['trace:read', 'trace:run', 'trace:admin'],
    });
    const r = curl(s.url, { body: INITIALIZE });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain(`resource_metadata="http://127.0.0.1:${s.port}/.well-known/oauth-protected-resource/mcp"`);
  });

  it('accepts a valid JWT, applies its scopes, and refuses an expired or foreign one', async () => {
    const runner = await sign({ sub: 'alice@example.com', scope: 'trace:read trace:run' });
    const client = await httpClient(s.url, runner, 'modern');
    const r = await client.callTool({ name: 'exec_program', arguments: { program: 'BEGIN { printf("hi\\n"); exit(); }', wait: true } });
    expect(r.structuredContent).toMatchObject({ status: 'completed', output: expect.arrayContaining(['hi']) });
    await client.close();
    const reader = await sign({ sub: 'bob', scope: 'trace:read' });
    const denied = curl(s.url, { body: callBody('exec_program', { program: 'BEGIN { exit(); }' }), headers: { authorization: `Bearer ${reader}` } });
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/insufficient_scope.*scope="trace:run"/);
    const expired = await sign({ sub: 'carol', scope: 'trace:read' }, Math.floor(Date.now() / 1000) - 3600);
    const late = curl(s.url, { body: INITIALIZE, headers: { authorization: `Bearer ${expired}` } });
    expect(late.status).toBe(401);
    expect(JSON.parse(late.body).error.message).toMatch(/expired/);
    const audit = execFileSync(process.execPath, [BIN, 'audit', '--who', 'oauth:alice@example.com', '--json'], {
      env: { ...process.env, MCPTRACE_STATE_DIR: s.stateDir },
      encoding: 'utf8',
    });
    expect(JSON.parse(audit)).toEqual(expect.arrayContaining([expect.objectContaining({ who: 'oauth:alice@example.com', tool: 'exec_program' })]));
  });
});
