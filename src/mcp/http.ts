import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import os from 'node:os';
import { hostHeaderValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, type AuthInfo, type McpRequestContext } from '@modelcontextprotocol/server';
import { MAX_MCP_MESSAGE_BYTES } from '../config/defaults.js';
import type { Core } from '../core/core.js';
import type { Caller } from '../results/tool-result.js';
import { principalLabel, SCOPES, type Principal, type Scope } from './auth/principal.js';
import { RateLimiter } from './auth/rate-limit.js';
import { LegacySessions, type SessionLimits } from './http-sessions.js';
import { readBody } from './http-body.js';
import { createServerFactory, type ServerOptions } from './server.js';
import { createUiRoutes, UI_PATH } from './ui-http.js';

export const DEFAULT_HTTP_PORT = 8722;
export const MCP_PATH = '/mcp';

/** How a request proves who it is. `none` is for loopback only (refused elsewhere at start). */
export interface HttpAuth {
  kind: 'tokens' | 'oauth' | 'none';
  verify(token: string): Promise<{ ok: true; principal: Principal } | { ok: false; reason: string; message: string }>;
  /** The RFC 9728 document (OAuth mode): served at /.well-known/oauth-protected-resource/mcp. */
  resourceMetadata?: Record<string, unknown>;
  /** The authorization server's own metadata (OAuth mode), mirrored for clients that probe this origin. */
  authorizationServerMetadata?: Record<string, unknown>;
}

export interface HttpOptions extends ServerOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  auth: HttpAuth;
  /** Extra names clients may reach the server by (Host header), beyond the bound address and this machine's names. */
  allowedHosts?: string[];
  /** Browser origins (scheme://host[:port] or a host name) allowed besides the server's own. */
  allowedOrigins?: string[];
  /** Requests per minute per caller (a token's own --rpm wins). */
  requestsPerMinute: number;
  /** Runs one caller may have running at once (a token's own --max-runs wins). */
  maxRunsPerCaller: number;
  maxBodyBytes?: number;
  /** Bounds on 2025-era sessions (http-sessions.ts); the defaults suit a team. */
  sessions?: SessionLimits;
  log: (msg: string) => void;
}

/** Parses `[HOST:]PORT` (HOST may be [v6]); the default host is loopback. */
export function parseListen(text: string | true): { host: string; port: number } | { error: string } {
  if (text === true || text === '') return { host: '127.0.0.1', port: DEFAULT_HTTP_PORT };
  const m = /^\d+$/.test(text) ? ['', '127.0.0.1', text] : (/^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text) ?? /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(text));
  const port = m?.[2] !== undefined ? Number(m[2]) : DEFAULT_HTTP_PORT;
  if (!m || port > 65535)
    return { error: `--http "${text}" is not [HOST:]PORT; examples: 8722, 127.0.0.1:8722, [::1]:8722, 0.0.0.0:8722 (with TLS and authentication)` };
  return { host: m[1], port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * The refusal to expose tracing to a network without protection: beyond loopback, the server
 * needs TLS (tokens would travel in clear text) and authentication (anyone could trace).
 */
export function exposureProblem(o: Pick<HttpOptions, 'host' | 'tls' | 'auth'>): string | undefined {
  if (isLoopback(o.host)) return undefined;
  const missing = [...(o.tls ? [] : ['TLS (--tls-cert FILE --tls-key FILE)']), ...(o.auth.kind === 'none' ? ['authentication (drop --no-auth)'] : [])];
  if (!missing.length) return undefined;
  return `refusing to listen on ${o.host}, beyond loopback, without ${missing.join(' and ')}: anyone who can reach the port could run kernel traces${o.tls ? '' : ' and read tokens off the wire'}. Listen on 127.0.0.1 (the default), or add ${missing.join(' and ')}.`;
}

/** The names a client may use to reach this server: loopback, this machine's names and addresses, and the bound host. */
export function allowedHostnames(o: Pick<HttpOptions, 'host' | 'allowedHosts'>): string[] {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', ...(o.allowedHosts ?? [])]);
  if (!isLoopback(o.host)) {
    if (o.host !== '0.0.0.0' && o.host !== '::') names.add(isIP(o.host) === 6 ? `[${o.host}]` : o.host);
    names.add(os.hostname());
    for (const addrs of Object.values(os.networkInterfaces()))
      for (const a of addrs ?? []) names.add(a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address);
  } else if (o.host !== 'localhost') names.add(isIP(o.host) === 6 ? `[${o.host}]` : o.host);
  return [...names];
}

/** A JSON-RPC error as an HTTP answer: clients read the message whatever the status. */
function jsonError(res: ServerResponse, status: number, code: number, message: string, id: unknown = null, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/**
 * Whether a browser page from `origin` may call us: a page of this server itself (one of its
 * names, on its own port), or an origin the operator allowed. A page of another web server on
 * this machine (http://localhost:5173) is another origin and needs --allowed-origin like any
 * other. An allowed origin with a scheme must match exactly (scheme, host and port); a bare host
 * name allows that host on any scheme and port. The opaque origin "null" (sandboxed frames,
 * files) is never allowed.
 */
export function originAllowed(origin: string, ourNames: readonly string[], allowed: readonly string[], ourPort?: number): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.origin === 'null') return false;
  const host = u.hostname.toLowerCase();
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  if (ourNames.some((n) => n.toLowerCase() === host) && (ourPort === undefined || port === ourPort)) return true;
  return allowed.some((a) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) return a.toLowerCase() === host;
    try {
      return new URL(a).origin === u.origin;
    } catch {
      return false;
    }
  });
}

const MAX_CONNECTIONS = 1024;

/** What a browser page may send and read (MCP's own headers, the bearer token, the challenges). */
const CORS_ALLOWED = 'authorization, content-type, accept, last-event-id, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name';
const CORS_EXPOSED = 'mcp-session-id, mcp-protocol-version, www-authenticate, retry-after';

const quote = (s: string) => `"${s.replace(/["\\]/g, "'")}"`;

interface RequestShape {
  id: unknown;
  /** notifications/cancelled: the request it cancels. */
  requestId?: unknown;
  method?: string;
  name?: string;
  args?: Record<string, unknown>;
}

const messagesOf = (body: unknown): RequestShape[] =>
  (Array.isArray(body) ? body : [body]).map((m) => {
    const o = (m && typeof m === 'object' ? m : {}) as {
      id?: unknown;
      method?: unknown;
      params?: { name?: unknown; arguments?: unknown; requestId?: unknown };
    };
    return {
      id: o.id,
      requestId: o.params?.requestId,
      method: typeof o.method === 'string' ? o.method : undefined,
      name: typeof o.params?.name === 'string' ? o.params.name : undefined,
      args: o.params?.arguments && typeof o.params.arguments === 'object' ? (o.params.arguments as Record<string, unknown>) : undefined,
    };
  });

/**
 * The scope a message needs. Reading (lists, results, analyses) needs trace:read; anything that
 * starts, stops or changes something needs trace:run; bpftrace's --unsafe, and every run on a
 * server at the permissive level, needs trace:admin. Scopes nest: admin holds run holds read.
 */
export function scopeFor(core: Core, m: RequestShape): Scope {
  if (m.method !== 'tools/call' || !m.name) return 'trace:read';
  const tool = core.tool(m.name);
  if (!tool) return 'trace:read';
  const runs = tool.kind.runnable || !tool.def.annotations.readOnlyHint;
  if (!runs) return 'trace:read';
  if (m.args?.unsafe === true || (tool.kind.runnable && core.policy.level === 'permissive')) return 'trace:admin';
  return 'trace:run';
}

const RANK: Record<Scope, number> = { 'trace:read': 0, 'trace:run': 1, 'trace:admin': 2 };
const holds = (scopes: readonly string[], need: Scope) => scopes.some((s) => (SCOPES as readonly string[]).includes(s) && RANK[s as Scope] >= RANK[need]);

/** Under --no-auth (loopback only) a caller is known by its address alone. */
const anonymous = (remote: string | undefined): Principal => ({ kind: 'anonymous', name: remote ?? 'unknown', scopes: [...SCOPES] });

/**
 * `mcptrace serve --http`: MCP over Streamable HTTP for both protocol eras, from the same
 * factory as stdio. In front of the SDK, in this order: Host and Origin (403, against DNS
 * rebinding and foreign pages), the OAuth metadata documents, the path (404), the bearer token
 * (401), the caller's request rate (429), the body bound (413), JSON (400, answered, never a
 * dropped connection) and the scope each message needs (403 insufficient_scope). Then a 2025
 * session's request goes to its session (http-sessions.ts), a 2025 initialize opens one, and
 * everything else, 2026-07-28 requests and session-less 2025 POSTs, goes to the SDK's
 * stateless handler.
 */
export function createHttpServer(core: Core, o: HttpOptions): { server: http.Server; close: () => Promise<void>; url: string } {
  const max = o.maxBodyBytes ?? MAX_MCP_MESSAGE_BYTES;
  const hostnames = allowedHostnames(o);
  const checkHost = hostHeaderValidation(hostnames);
  const originOk = (origin: string) => {
    const bound = server.address();
    return originAllowed(origin, hostnames, o.allowedOrigins ?? [], bound && typeof bound === 'object' ? bound.port : o.port);
  };
  const limiter = new RateLimiter({ perMinute: o.requestsPerMinute });
  const scheme = o.tls ? 'https' : 'http';
  const shownHost = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  // Listening on every address (0.0.0.0, ::), the URL to give clients names this machine.
  const url = `${scheme}://${o.host === '0.0.0.0' || o.host === '::' ? os.hostname() : shownHost}:${o.port}${MCP_PATH}`;
  const metadataPath = `/.well-known/oauth-protected-resource${MCP_PATH}`;
  const metadataUrl = (req: IncomingMessage) => `${scheme}://${req.headers.host ?? shownHost}${metadataPath}`;

  // A 2025 client on the stateless leg cancels with a notifications/cancelled POST of its own,
  // which no SDK instance can match to the call (each request has a fresh one): the calls in
  // flight are kept here by caller and request id, and the notification aborts the right one.
  const inFlight = new Map<string, AbortController>();
  const flightKey = (who: string, id: unknown) => `${who}\u0000${JSON.stringify(id)}`;

  const callerFor = (p: Principal, remote: string | undefined): Caller => ({
    who: principalLabel(p),
    via: 'http',
    remote,
    maxRuns: p.maxRuns ?? o.maxRunsPerCaller,
    admin: holds(p.scopes, 'trace:admin'),
  });
  const callerOf = (made: McpRequestContext): Caller => {
    const extra = made.authInfo?.extra as { principal?: Principal; remote?: string } | undefined;
    return callerFor(extra?.principal ?? anonymous(extra?.remote), extra?.remote);
  };
  const factory = createServerFactory(core, o, callerOf);
  const sessions = new LegacySessions(factory, (res, status, code, message, headers) => jsonError(res, status, code, message, null, headers), o.sessions);
  const handler = createMcpHandler(factory, {
    maxRequestBodySize: max,
    onerror: (e) => o.log(`http: ${e.message}`),
  });
  const mcp = toNodeHandler(handler);

  const tokenSource =
    o.auth.kind === 'oauth'
      ? `an access token from ${o.auth.resourceMetadata?.authorization_servers ?? 'the authorization server'}`
      : 'a token from mcptrace token create NAME';
  const ui = createUiRoutes(core, {
    verify: o.auth.kind === 'none' ? undefined : (t) => o.auth.verify(t),
    anonymous,
    secure: !!o.tls,
    callerOf: callerFor,
    refusal: (p, name, args) => {
      const need = scopeFor(core, { id: null, method: 'tools/call', name, args });
      return holds(p.scopes, need) ? undefined : `${name} needs the ${need} scope; ${principalLabel(p)} has ${p.scopes.join(', ') || 'none'}`;
    },
    take: (p) => limiter.take(principalLabel(p), p.requestsPerMinute),
    log: o.log,
  });
  const challenge = (req: IncomingMessage, error?: string, description?: string, scope?: string) =>
    [
      ...(error ? [`error="${error}"`, `error_description=${quote(description ?? '')}`] : ['realm="mcptrace"']),
      ...(scope ? [`scope="${scope}"`] : []),
      ...(o.auth.resourceMetadata ? [`resource_metadata="${metadataUrl(req)}"`] : []),
    ].reduce((acc, part, i) => `${acc}${i ? ', ' : ' '}${part}`, 'Bearer');

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Host first: a rebinding page reaches 127.0.0.1 under its own name, which is not ours.
    if (!checkHost(req as never, res as never)) return;
    if (req.headers.origin !== undefined) {
      if (!originOk(req.headers.origin))
        return jsonError(
          res,
          403,
          -32000,
          `Forbidden: a page from ${req.headers.origin.slice(0, 200)} may not call this server. A web client must be served from this machine or from an origin the operator allows (serve --allowed-origin https://app.example.com).`,
        );
      // A page from an allowed origin (a web client) may call us: CORS for it, and only for it.
      res.setHeader('access-control-allow-origin', req.headers.origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', CORS_EXPOSED);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': CORS_ALLOWED,
          'access-control-max-age': '600',
        });
        return void res.end();
      }
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === metadataPath && o.auth.resourceMetadata) return sendJson(res, o.auth.resourceMetadata);
    if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server' && o.auth.authorizationServerMetadata)
      return sendJson(res, o.auth.authorizationServerMetadata);
    if (path === UI_PATH || path.startsWith(`${UI_PATH}/`)) return ui(req, res, path);
    if (path !== MCP_PATH) return jsonError(res, 404, -32601, `nothing at ${path}; the MCP endpoint is ${MCP_PATH}, the views are at ${UI_PATH}/`);

    let principal = anonymous(req.socket.remoteAddress);
    if (o.auth.kind !== 'none') {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) {
        const why = header ? 'the Authorization header is not "Bearer TOKEN"' : 'no Authorization header';
        return jsonError(res, 401, -32001, `unauthorized: ${why}; send Authorization: Bearer TOKEN (${tokenSource})`, null, {
          // RFC 6750 3.1: a request with no credentials at all gets a challenge with no error code.
          'www-authenticate': header ? challenge(req, 'invalid_token', why) : challenge(req),
        });
      }
      const verdict = await o.auth.verify(m[1]).catch((e: Error) => ({ ok: false as const, reason: 'unavailable' as const, message: e.message }));
      if (!verdict.ok) {
        const status = verdict.reason === 'unavailable' || verdict.reason === 'unreachable' ? 503 : 401;
        return jsonError(res, status, -32001, `unauthorized: ${verdict.message}`, null, {
          'www-authenticate': challenge(req, 'invalid_token', verdict.message),
        });
      }
      principal = verdict.principal;
    }
    const who = principalLabel(principal);
    const rate = limiter.take(who, principal.requestsPerMinute);
    if (!rate.ok)
      return jsonError(
        res,
        429,
        -32002,
        `too many requests from ${who}: the limit is ${principal.requestsPerMinute ?? o.requestsPerMinute} a minute; retry after ${rate.retryAfterSec} s`,
        null,
        { 'retry-after': String(rate.retryAfterSec) },
      );

    let parsed: unknown;
    if (req.method === 'POST') {
      const body = await readBody(req, max);
      if ('aborted' in body) return;
      if ('tooLarge' in body)
        return jsonError(
          res,
          413,
          -32600,
          `request body of ${body.tooLarge} bytes is over the ${max}-byte limit and was not read; send less (a bpftrace program is at most 64 KiB)`,
          null,
          {
            connection: 'close',
          },
        );
      try {
        parsed = JSON.parse(body.text);
      } catch (e) {
        return jsonError(res, 400, -32700, `Parse error: ${(e as Error).message}. Send one JSON-RPC 2.0 message as the POST body.`);
      }
      const messages = messagesOf(parsed);
      for (const msg of messages) {
        if (msg.method === 'notifications/cancelled') inFlight.get(flightKey(who, msg.requestId))?.abort('cancelled by the client');
      }
      for (const msg of messages) {
        const need = scopeFor(core, msg);
        if (!holds(principal.scopes, need)) {
          const what = msg.name ? `${msg.name}${need === 'trace:admin' && msg.args?.unsafe === true ? ' with unsafe' : ''}` : (msg.method ?? 'this request');
          const text = `${what} needs the ${need} scope; ${who} has ${principal.scopes.join(', ') || 'none'}. ${o.auth.kind === 'oauth' ? `Ask your authorization server for a token with the ${need} scope` : `Ask the server's operator for a token with ${need} (mcptrace token create NAME --scopes ${need})`}`;
          if (msg.method === 'tools/call' && msg.name)
            core.auditRefusal({
              at: new Date().toISOString(),
              who,
              via: 'http',
              remote: req.socket.remoteAddress,
              tool: msg.name,
              args: msg.args,
              verdict: 'scope',
              outcome: 'error:scope',
            });
          return jsonError(res, 403, -32003, `forbidden: ${text}`, msg.id, { 'www-authenticate': challenge(req, 'insufficient_scope', text, need) });
        }
      }
    }
    const calls = messagesOf(parsed).filter((m) => m.method === 'tools/call' && m.id !== undefined);
    const cancel = new AbortController();
    // A connection that drops before its answer is written cancels what it asked for: the run
    // stops with SIGINT and keeps its maps (get_result has them).
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort('the client closed its connection');
    });
    for (const c of calls) inFlight.set(flightKey(who, c.id), cancel);
    const auth: AuthInfo = {
      token: '',
      clientId: who,
      scopes: principal.scopes,
      expiresAt: principal.expiresAt,
      extra: { principal, remote: req.socket.remoteAddress, cancelled: cancel.signal },
    };
    (req as IncomingMessage & { auth?: AuthInfo }).auth = auth;
    try {
      const session = req.headers['mcp-session-id'];
      if (typeof session === 'string') await sessions.serve(session, req, res, parsed, who);
      else if (await LegacySessions.opens(req, parsed)) await sessions.open(req, res, parsed, who);
      else await mcp(req, res, parsed);
    } finally {
      for (const c of calls) if (inFlight.get(flightKey(who, c.id)) === cancel) inFlight.delete(flightKey(who, c.id));
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) =>
    void serve(req, res).catch((e: Error) => {
      o.log(`internal error serving ${req.method} ${req.url} (please report): ${e.stack ?? e}`);
      jsonError(res, 500, -32603, 'internal error in mcptrace; the server logged it');
    });
  const server = o.tls ? https.createServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, onRequest) : http.createServer(onRequest);
  // A long trace answers through SSE keepalives, so no request timeout. An idle connection is closed by the client first: a server that closes a kept-alive socket
  // as a busy client reuses it fails that request ("other side closed"), and a POST is not
  // retried. Clients keep idle sockets for less than the Keep-Alive: timeout we announce.
  server.keepAliveTimeout = 65_000;
  // A client that is slow to send its headers (slowloris) is cut off after this long.
  server.headersTimeout = 70_000;
  // Past this many open connections the kernel's backlog holds new ones; a flood of
  // unauthenticated sockets cannot exhaust the server's file descriptors.
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = 0;
  const close = async () => {
    await sessions.close();
    await handler.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, close, url };
}

function sendJson(res: ServerResponse, doc: Record<string, unknown>): void {
  const body = JSON.stringify(doc);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'access-control-allow-origin': '*' });
  res.end(body);
}
