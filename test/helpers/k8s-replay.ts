import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/**
 * The Kubernetes API server's recorded behaviour, replayed: a node:http server on 127.0.0.1
 * answers with the responses in test/fixtures/k8s/recorded (status, headers, JSON bodies) and
 * records every request the real @kubernetes/client-node makes, reached through a kubeconfig
 * file that points at it (writeKubeconfig). Used by test/unit/k8s-client.test.ts (one run, fixed
 * names) and test/unit/k8s-fleet.test.ts (whole fleet runs, names known only once they arrive).
 */

export const REC = path.resolve(__dirname, '../fixtures/k8s/recorded');

/** One recorded answer (a followed log has `before` and `after`, its chunks, instead of `body`). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  before?: string[];
  after?: string[];
}

/** A recorded answer by its file name (without .json). */
export const rec = (file: string): Reply => JSON.parse(readFileSync(path.join(REC, `${file}.json`), 'utf8')) as Reply;

/** A request as it arrived. */
export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  auth?: string;
}

/** Answers one request itself; `match` is the route's RegExp match when the route is a pattern. */
export type Handler = (seen: Seen, res: http.ServerResponse, match?: RegExpExecArray) => void;

/**
 * The API server's recorded answers, by method and path (a string, or a RegExp on the path for
 * names only known once the request arrives); a list is served in order, its last answer
 * repeated. An exact path wins over a pattern; patterns are tried in the order they were added.
 */
export class ReplayApi {
  readonly seen: Seen[] = [];
  private readonly routes = new Map<string, Reply[] | Handler>();
  private readonly patterns: { method: string; path: RegExp; answer: Reply[] | Handler }[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly waiters: Array<{ test: (s: Seen) => boolean; resolve: (s: Seen) => void }> = [];
  port = 0;

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
  }

  reset(): void {
    this.seen.length = 0;
    this.routes.clear();
    this.patterns.length = 0;
    this.waiters.length = 0;
  }

  on(method: string, p: string | RegExp, answer: Reply[] | Handler): this {
    if (typeof p === 'string') this.routes.set(`${method} ${p}`, answer);
    else this.patterns.push({ method, path: p, answer });
    return this;
  }

  /** Resolves when a request that passes `test` has arrived. */
  request(test: (s: Seen) => boolean): Promise<Seen> {
    const hit = this.seen.find(test);
    return hit ? Promise.resolve(hit) : new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  private route(seen: Seen): { answer?: Reply[] | Handler; match?: RegExpExecArray } {
    const exact = this.routes.get(`${seen.method} ${seen.path}`);
    if (exact) return { answer: exact };
    for (const r of this.patterns) {
      const match = r.method === seen.method ? r.path.exec(seen.path) : null;
      if (match) return { answer: r.answer, match };
    }
    return {};
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const seen: Seen = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(raw ? { body: JSON.parse(raw) as unknown } : {}),
      auth: req.headers.authorization,
    };
    this.seen.push(seen);
    for (const w of [...this.waiters])
      if (w.test(seen)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(seen);
      }
    const { answer: route, match } = this.route(seen);
    if (typeof route === 'function') return route(seen, res, match);
    const reply = route && (route.length > 1 ? route.shift()! : route[0]);
    if (!reply) {
      // As the API server answers a path it does not serve.
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the server could not find the requested resource',
          reason: 'NotFound',
          details: {},
          code: 404,
        }),
      );
      return;
    }
    res.writeHead(reply.status, reply.headers);
    res.end(JSON.stringify(reply.body));
  }
}

/** Sends a recorded JSON answer from a Handler. */
export function send(res: http.ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(JSON.stringify(reply.body));
}

/** What `kind get kubeconfig` writes, pointed at the replay server over plain http; returns its path. */
export function writeKubeconfig(file: string, port: number): string {
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: replay',
      '  cluster:',
      `    server: http://127.0.0.1:${port}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: replay-user',
      '  user:',
      '    token: replay-token',
      'contexts:',
      '- name: replay',
      '  context:',
      '    cluster: replay',
      '    user: replay-user',
      'current-context: replay',
      '',
    ].join('\n'),
  );
  return file;
}

/** The names the recordings were made with: run r1 on node kind-worker in namespace mcptrace. */
export const RECORDED = { runId: 'r1', node: 'kind-worker', namespace: 'mcptrace', name: 'mcptrace-r1-kind-worker' } as const;

/**
 * A recorded answer as it would be for another run, node and namespace: every string value that
 * is the recorded object's name (or starts with it: the pod's name, its generateName) takes the
 * new name, the recorded node's name and run id the new ones (only as whole values: `kind-worker`
 * inside `kind-worker2` stays), and the `namespace` fields the new namespace. Names inside
 * messages are left alone.
 */
export function renamed(reply: Reply, to: { runId: string; node: string; namespace: string; name: string }): Reply {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (v.startsWith(RECORDED.name)) return to.name + v.slice(RECORDED.name.length);
      if (v === RECORDED.node) return to.node;
      if (v === RECORDED.runId) return to.runId;
      if (key === 'namespace' && v === RECORDED.namespace) return to.namespace;
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return { ...reply, body: walk(reply.body) };
}

/**
 * One replay server for a test file: started before its tests, reset before each, closed after
 * them, with a kubeconfig pointing at it in a temporary directory. Unhandled rejections during
 * the file are collected in `rejections`: the client must never leave one (each file asserts it).
 */
export function useReplayApi(prefix: string): { api: ReplayApi; dir: () => string; kubeconfig: () => string; rejections: unknown[] } {
  const api = new ReplayApi();
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  let dir = '';
  let kubeconfig = '';
  beforeAll(async () => {
    await api.start();
    dir = mkdtempSync(path.join(tmpdir(), prefix));
    kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), api.port);
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => api.reset());
  return { api, dir: () => dir, kubeconfig: () => kubeconfig, rejections };
}
