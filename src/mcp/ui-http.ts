/**
 * The views in a browser: `serve --http` (and `mcptrace ui`) serve dist/ui at /ui, behind the
 * same credentials as /mcp. A browser cannot attach a bearer token to a page load, so a person
 * signs in once at /ui/login with their token (or `mcptrace ui`'s one-time link) and gets a
 * session cookie: HttpOnly, SameSite=Strict, scoped to /ui, never the token itself. The pages
 * call tools through POST /ui/api/call, the same Core.callTool as MCP, with the same caller,
 * scope checks, rate limit and audit; and only the tools the views need, which read runs and
 * stop them, never start one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { UI_DIR } from '../config/paths.js';
import type { Core } from '../core/core.js';
import type { Caller } from '../results/tool-result.js';
import { principalLabel, type Principal } from './auth/principal.js';
import { readBody } from './http-body.js';
import { toCallToolResult } from './server.js';

export const UI_PATH = '/ui';
const COOKIE = 'mcptrace_ui';
/** How long a browser stays signed in (a shorter-lived token ends it sooner). */
const SESSION_SECONDS = 8 * 3600;
const MAX_SESSIONS = 1000;
const MAX_BODY = 64 * 1024;

/** What the pages may call: reading runs, analysing, comparing and stopping them. Starting a trace stays with MCP clients and the CLI. */
export const UI_TOOLS = new Set(['get_result', 'stop_execution', 'analyze_output', 'compare_runs', 'list_executions', 'search_history']);

/** /ui/NAME → the built page. */
const PAGES: Record<string, string> = {
  '': 'history.html',
  history: 'history.html',
  live: 'live.html',
  flamegraph: 'flamegraph.html',
  charts: 'charts.html',
  login: 'login.html',
};

export interface UiOptions {
  /** Verifies a token as /mcp does; absent under --no-auth (loopback), where everyone is the anonymous caller. */
  verify?: (token: string) => Promise<{ ok: true; principal: Principal } | { ok: false; message: string }>;
  anonymous: (remote: string | undefined) => Principal;
  secure: boolean;
  callerOf: (p: Principal, remote: string | undefined) => Caller;
  /** Why p may not call this tool (the missing scope, said as /mcp says it), or undefined. */
  refusal: (p: Principal, name: string, args: Record<string, unknown>) => string | undefined;
  /** The rate limit /mcp applies, shared. */
  take: (p: Principal) => { ok: true } | { ok: false; retryAfterSec: number };
  log: (msg: string) => void;
}

interface Session {
  principal: Principal;
  expires: number;
}

/**
 * The page's CSP: every script the page has, by hash (the views inline their bundles), and no
 * network but this origin. Styles may be inline: the flame graph positions its frames with them.
 */
function policyFor(html: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const pages = new Map<string, { html: string; csp: string }>();
function page(file: string): { html: string; csp: string } | undefined {
  let p = pages.get(file);
  if (!p) {
    try {
      const html = readFileSync(path.join(UI_DIR, file), 'utf8');
      p = { html, csp: policyFor(html) };
    } catch {
      return undefined;
    }
    pages.set(file, p);
  }
  return p;
}

const json = (res: ServerResponse, status: number, doc: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(doc));
};

/** Only a path of our own /ui after signing in: never an open redirect. */
const safeNext = (next: string | null | undefined) => (next && /^\/ui(\/[\w./?=&%-]*)?$/.test(next) && !next.startsWith('//') ? next : `${UI_PATH}/`);

export function createUiRoutes(core: Core, o: UiOptions) {
  const sessions = new Map<string, Session>();

  const sessionOf = (req: IncomingMessage): Session | undefined => {
    const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{20,})`).exec(req.headers.cookie ?? '');
    const s = m ? sessions.get(m[1]) : undefined;
    if (s && s.expires <= Date.now()) sessions.delete(m![1]);
    return s && s.expires > Date.now() ? s : undefined;
  };

  /** Who the request is: the session cookie, a bearer header (scripts), or the anonymous caller under --no-auth. */
  const principalOf = async (req: IncomingMessage): Promise<Principal | undefined> => {
    if (!o.verify) return o.anonymous(req.socket.remoteAddress);
    const s = sessionOf(req);
    if (s) return s.principal;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!bearer) return undefined;
    const v = await o.verify(bearer[1]);
    return v.ok ? v.principal : undefined;
  };

  const signIn = async (res: ServerResponse, token: string, next: string, remote: string | undefined) => {
    const v = await o.verify!(token).catch((e: Error) => ({ ok: false as const, message: e.message }));
    if (!v.ok) {
      o.log(`ui: sign-in refused from ${remote ?? 'unknown'}: ${v.message}`);
      res.writeHead(303, { location: `${UI_PATH}/login?failed=1&next=${encodeURIComponent(next)}`, 'cache-control': 'no-store' });
      return void res.end();
    }
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    const id = randomBytes(24).toString('base64url');
    const ends = Math.min(Date.now() + SESSION_SECONDS * 1000, v.principal.expiresAt ? v.principal.expiresAt * 1000 : Infinity);
    sessions.set(id, { principal: v.principal, expires: ends });
    o.log(`ui: ${principalLabel(v.principal)} signed in from ${remote ?? 'unknown'}`);
    res.writeHead(303, {
      location: next,
      'cache-control': 'no-store',
      'set-cookie': `${COOKIE}=${id}; Path=${UI_PATH}; HttpOnly; SameSite=Strict; Max-Age=${Math.max(1, Math.floor((ends - Date.now()) / 1000))}${o.secure ? '; Secure' : ''}`,
    });
    res.end();
  };

  const sendPage = (res: ServerResponse, file: string, status = 200) => {
    const p = page(file);
    if (!p) return json(res, 500, { error: `the page ${file} is not built: dist/ui/${file} is missing. Run npm run build in the mcptrace checkout.` });
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': p.csp,
      'x-content-type-options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer a form's POST carries Origin: null, which the origin check refuses.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    res.end(p.html);
  };

  const call = async (req: IncomingMessage, res: ServerResponse, p: Principal) => {
    // A form from another site cannot send JSON without a preflight, which we never grant: with
    // the SameSite cookie, this is the defence against cross-site requests.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      return json(res, 415, { error: 'send the call as JSON: Content-Type: application/json' });
    const read = await readBody(req, MAX_BODY);
    if ('aborted' in read) return;
    if ('tooLarge' in read) return json(res, 413, { error: `a call is at most ${MAX_BODY} bytes; this one was ${read.tooLarge}` });
    const text = read.text;
    let body: { name?: unknown; arguments?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (e) {
      return json(res, 400, { error: `the body is not JSON: ${(e as Error).message}. Send {"name": TOOL, "arguments": {...}}.` });
    }
    const name = typeof body.name === 'string' ? body.name : '';
    const args = body.arguments && typeof body.arguments === 'object' && !Array.isArray(body.arguments) ? (body.arguments as Record<string, unknown>) : {};
    if (!UI_TOOLS.has(name))
      return json(res, 403, {
        error: `the /ui pages may call ${[...UI_TOOLS].join(', ')}; ${name || 'no tool'} is not one of them. Use an MCP client or the CLI for it.`,
      });
    const refused = o.refusal(p, name, args);
    if (refused) return json(res, 403, { error: refused });
    const rate = o.take(p);
    if (!rate.ok)
      return json(
        res,
        429,
        { error: `too many requests from ${principalLabel(p)}; retry after ${rate.retryAfterSec} s` },
        { 'retry-after': String(rate.retryAfterSec) },
      );
    const cancel = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort('the page closed its connection');
    });
    const r = await core.callTool(name, args, { signal: cancel.signal, caller: o.callerOf(p, req.socket.remoteAddress), confirm: async () => 'unavailable' });
    json(res, 200, toCallToolResult(r, !!core.tool(name)?.def.output));
  };

  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const name = pathname
      .slice(UI_PATH.length)
      .replace(/^\//, '')
      .replace(/\.html$/, '');
    if (name === 'login' && o.verify) {
      if (req.method === 'POST') {
        const read = await readBody(req, MAX_BODY);
        const form = new URLSearchParams('text' in read ? read.text : '');
        return signIn(res, form.get('token') ?? '', safeNext(form.get('next')), req.socket.remoteAddress);
      }
      // mcptrace ui's link carries a one-time secret; it is exchanged for the cookie at once.
      const token = url.searchParams.get('token');
      if (token) return signIn(res, token, safeNext(url.searchParams.get('next')), req.socket.remoteAddress);
      return sendPage(res, PAGES.login);
    }
    if (name === 'logout' && req.method === 'POST') {
      const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]+)`).exec(req.headers.cookie ?? '');
      if (m) sessions.delete(m[1]);
      res.writeHead(303, { location: `${UI_PATH}/login`, 'set-cookie': `${COOKIE}=; Path=${UI_PATH}; Max-Age=0` });
      return void res.end();
    }
    const p = await principalOf(req);
    if (name === 'api/call') {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST a call: {"name": TOOL, "arguments": {...}}' }, { allow: 'POST' });
      if (!p) return json(res, 401, { error: `sign in at ${UI_PATH}/login with a token from mcptrace token create NAME` });
      return call(req, res, p);
    }
    const file = PAGES[name];
    if (!file || req.method !== 'GET')
      return json(res, 404, {
        error: `nothing at ${pathname}; the pages are ${Object.keys(PAGES)
          .filter(Boolean)
          .map((k) => `${UI_PATH}/${k}`)
          .join(', ')}`,
      });
    if (!p) {
      // A browser is sent to sign in; a script (curl, a monitor) gets the 401 it can act on.
      if (!/text\/html/.test(req.headers.accept ?? ''))
        return json(
          res,
          401,
          { error: `sign in at ${UI_PATH}/login, or send Authorization: Bearer TOKEN (a token from mcptrace token create NAME)` },
          { 'www-authenticate': 'Bearer realm="mcptrace"' },
        );
      res.writeHead(303, { location: `${UI_PATH}/login?next=${encodeURIComponent(safeNext(req.url))}`, 'cache-control': 'no-store' });
      return void res.end();
    }
    sendPage(res, file);
  };
}
