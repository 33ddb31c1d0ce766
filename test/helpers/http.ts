import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN } from './mcp.js';

export interface HttpServer {
  url: string;
  port: number;
  stateDir: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

/**
 * Starts the built `mcptrace serve --http` on a free loopback port (port 0, read back from its
 * "serving ... at URL" line), with a state directory of its own unless given one.
 */
export async function startHttpServer(args: string[] = [], env: Record<string, string> = {}): Promise<HttpServer> {
  const stateDir = env.MCPTRACE_STATE_DIR ?? mkdtempSync(path.join(tmpdir(), 'mcptrace-http-'));
  const hasListen = args.includes('--http');
  const child = spawn(process.execPath, [BIN, 'serve', ...(hasListen ? [] : ['--http', '127.0.0.1:0']), ...args], {
    env: { ...process.env, MCPTRACE_STATE_DIR: stateDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s; stderr:\n${stderr}`)), 20_000);
    child.stderr!.on('data', (d) => {
      stderr += d.toString();
      const m = / at (https?:\/\/\S+\/mcp)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving; stderr:\n${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    stateDir,
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** `mcptrace token create` against a state directory; returns the token it printed. */
export function createToken(stateDir: string, name: string, flags: string[] = []): string {
  return execFileSync(process.execPath, [BIN, 'token', 'create', name, ...flags], {
    env: { ...process.env, MCPTRACE_STATE_DIR: stateDir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** An SDK v2 client over Streamable HTTP, in the era asked for, with a bearer token. */
export async function httpClient(
  url: string,
  token: string | undefined,
  era: 'legacy' | 'modern',
  capabilities: Record<string, unknown> = {},
): Promise<Client> {
  const client = new Client(
    { name: 'mcptrace-http-test', version: '1.0.0' },
    { capabilities, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {}) },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }));
  return client;
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** curl, as an operator would use it: the raw status, headers and body of one request. */
export function curl(url: string, opts: { body?: string; headers?: Record<string, string>; method?: string; extra?: string[] } = {}): CurlResult {
  const args = ['-s', '-S', '-i', '-X', opts.method ?? 'POST', '--max-time', '20', ...(opts.extra ?? [])];
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...opts.headers };
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (opts.body !== undefined) args.push('--data-binary', opts.body);
  args.push(url);
  // A large body is sent after "100 Continue": the answer is the block after it.
  const out = execFileSync('curl', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).replace(/^(HTTP\/[\d.]+ 100 [^\r]*\r\n\r\n)+/, '');
  const split = out.indexOf('\r\n\r\n');
  const head = out.slice(0, split).split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head[0])?.[1]);
  const hdrs: Record<string, string> = {};
  for (const h of head.slice(1)) {
    const i = h.indexOf(':');
    hdrs[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
  }
  return { status, headers: hdrs, body: out.slice(split + 4) };
}

/** A 2025-era initialize request body. */
export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
});

/** A tools/call body (2025 era: no envelope). */
export const callBody = (name: string, args: Record<string, unknown>, id = 7) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
