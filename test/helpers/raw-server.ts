import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, REPO } from './mcp.js';

/** A server spoken to line by line, as a hostile or careless client would. */
export interface RawServer {
  child: ChildProcess;
  /** Every JSON line the server wrote to stdout, parsed; a non-JSON line is kept as a string. */
  messages: () => unknown[];
  /** Bytes on stdout that were not a JSON-RPC message (must stay empty). */
  junk: () => string[];
  stderr: () => string;
  send: (line: string) => void;
  request: (id: number, method: string, params?: unknown) => void;
  reply: (id: number, timeoutMs?: number) => Promise<{ result?: any; error?: { code: number; message: string } }>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export async function startRawServer(args: string[] = [], env: Record<string, string> = {}): Promise<RawServer> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: unknown[] = [];
  const junk: string[] = [];
  let err = '';
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        const m = JSON.parse(p);
        if (m?.jsonrpc === '2.0') messages.push(m);
        else junk.push(p);
      } catch {
        junk.push(p);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const send = (line: string) => child.stdin!.write(`${line}\n`);
  const request = (id: number, method: string, params?: unknown) =>
    send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  const reply = async (id: number, timeoutMs = 15_000) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const m = messages.find((x) => (x as { id?: unknown }).id === id);
      if (m) return m as { result?: any; error?: { code: number; message: string } };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no reply to request ${id} within ${timeoutMs} ms; stderr: ${err}`);
  };
  const server: RawServer = { child, messages: () => messages, junk: () => junk, stderr: () => err, send, request, reply, exited };
  request(0, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
  await reply(0);
  send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  return server;
}
