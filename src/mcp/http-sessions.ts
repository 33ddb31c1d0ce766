import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isLegacyRequest, type AuthInfo, type McpRequestContext, type Server } from '@modelcontextprotocol/server';

/** What a session costs is small (one Server and its transport), but a flood of them must not be. */
export interface SessionLimits {
  /** Sessions open at once, over every caller. */
  max: number;
  /** Sessions one caller may hold; past it, its least recently used idle one is closed. */
  perCaller: number;
  /** A session nobody used for this long is closed. */
  idleMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { max: 256, perCaller: 16, idleMs: 30 * 60_000 };

interface Session {
  id: string;
  owner: string;
  transport: NodeStreamableHTTPServerTransport;
  server: Server;
  lastSeen: number;
  /** HTTP requests of this session being served now (an idle session has none). */
  open: number;
}

type Answer = (res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) => void;

/**
 * 2025-era clients over Streamable HTTP with a session (Mcp-Session-Id), which is what lets the
 * server ask them something mid-call: a policy's confirmation goes out as elicitation/create on
 * the call's SSE stream, and the answer comes back as a POST to the same session. A 2025 client
 * that sends no session id is still served statelessly by the SDK's handler (http.ts), and
 * 2026-07-28 clients never have sessions.
 *
 * A session belongs to the caller who opened it: another token presenting its id is told it
 * does not exist. Sessions are bounded in number, per caller and in idle time.
 */
export class LegacySessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly factory: (ctx: McpRequestContext) => Server,
    private readonly answer: Answer,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, limits.idleMs)).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Whether this request opens a session: a lone 2025 initialize. The SDK's own classifier
   * decides the era, so a 2026-07-28 request that says initialize gets the modern answer
   * (that method is gone: 404, -32601).
   */
  static async opens(req: IncomingMessage, parsed: unknown): Promise<boolean> {
    if (req.method !== 'POST' || !parsed || typeof parsed !== 'object' || Array.isArray(parsed) || (parsed as { method?: unknown }).method !== 'initialize')
      return false;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    return isLegacyRequest(new Request('http://mcptrace.invalid/mcp', { method: 'POST', headers }), parsed);
  }

  /** An initialize: a new session, owned by its caller, answered by its own server instance. */
  async open(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, parsed: unknown, owner: string): Promise<void> {
    this.sweep();
    const full = this.makeRoom(owner);
    if (full) return this.answer(res, 503, -32000, `${full}; retry shortly, or use a 2026-07-28 client, which needs no session`, { 'retry-after': '5' });
    const server = this.factory({ era: 'legacy', authInfo: req.auth });
    let session: Session | undefined;
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        session = { id, owner, transport, server, lastSeen: this.now(), open: 1 };
        this.sessions.set(id, session);
      },
      onsessionclosed: (id) => void this.drop(id),
    });
    await server.connect(transport);
    try {
      await transport.handleRequest(req, res, parsed);
    } finally {
      if (session) session.open--;
      // An initialize that failed opened nothing: its server goes now.
      else await server.close().catch(() => undefined);
    }
  }

  /** A request that names its session. */
  async serve(id: string, req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, parsed: unknown, caller: string): Promise<void> {
    const s = this.sessions.get(id);
    // Someone else's session looks exactly like one that does not exist.
    if (!s || s.owner !== caller)
      return this.answer(
        res,
        404,
        -32001,
        `session ${id.slice(0, 64)} not found: it ended, expired after ${this.limits.idleMs / 60_000} idle minutes, or is not yours; initialize again`,
      );
    s.lastSeen = this.now();
    // A GET is the session's standing stream for server messages, open as long as the client
    // likes: it does not keep an otherwise idle session alive.
    const counts = req.method !== 'GET';
    if (counts) s.open++;
    try {
      await s.transport.handleRequest(req, res, parsed);
    } finally {
      if (counts) s.open--;
      s.lastSeen = this.now();
    }
  }

  /** Closes every session (server shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.keys()].map((id) => this.drop(id)));
  }

  private async drop(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  }

  /** Closes sessions idle past the limit. */
  private sweep(): void {
    const cutoff = this.now() - this.limits.idleMs;
    for (const s of this.sessions.values()) if (s.open === 0 && s.lastSeen < cutoff) void this.drop(s.id);
  }

  /**
   * Before a new session: a caller at its own limit loses its least recently used idle session,
   * and at the global limit the least recently used idle session of anyone goes.
   */
  private makeRoom(owner: string): string | undefined {
    const idle = (filter: (s: Session) => boolean) =>
      [...this.sessions.values()].filter((s) => s.open === 0 && filter(s)).sort((a, b) => a.lastSeen - b.lastSeen)[0];
    const mine = () => [...this.sessions.values()].filter((s) => s.owner === owner).length;
    if (mine() >= this.limits.perCaller) {
      const victim = idle((s) => s.owner === owner);
      if (victim) void this.drop(victim.id);
      else return `${owner} has ${mine()} sessions open, all in use (the limit is ${this.limits.perCaller} a caller)`;
    }
    if (this.sessions.size >= this.limits.max) {
      const victim = idle(() => true);
      if (victim) void this.drop(victim.id);
      else return `the server has ${this.sessions.size} sessions open, all in use (the limit is ${this.limits.max})`;
    }
    return undefined;
  }
}
