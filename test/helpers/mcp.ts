import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
export const BIN = path.join(REPO, 'bin/run.js');

export interface TestServer {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  call: (name: string, args: Record<string, unknown>, opts?: Parameters<Client['callTool']>[2]) => Promise<CallToolResult & { structuredContent?: any }>;
  close: () => Promise<void>;
}

/**
 * Spawns the built server over real stdio, as an MCP client would. Each server has a history of
 * its own (as each had its own memory before there was one), unless the test gives one.
 */
export async function startServer(args: string[] = [], env: Record<string, string> = {}, wrapper: string[] = []): Promise<TestServer> {
  const argv = [...wrapper, process.execPath, BIN, 'serve', ...args];
  const transport = new StdioClientTransport({
    command: argv[0],
    args: argv.slice(1),
    env: {
      ...(process.env as Record<string, string>),
      MCPTRACE_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'mcptrace-test-server-')),
      ...env,
    },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d.toString()));
  const client = new Client({ name: 'mcptrace-test', version: '1.0.0' });
  await client.connect(transport);
  // Listing first makes the SDK client check every structuredContent against the tool's
  // outputSchema, as real clients do: each result in these tests is validated.
  await client.listTools();
  return {
    client,
    transport,
    stderr: () => stderr,
    call: async (name, a, opts) => (await client.callTool({ name, arguments: a }, CallToolResultSchema, opts)) as CallToolResult & { structuredContent?: any },
    close: () => client.close(),
  };
}

export const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** Runs `fn` against a server started for it alone, and always closes that server. */
export async function withServer(
  opts: { args?: string[]; env?: Record<string, string>; wrapper?: string[] },
  fn: (s: TestServer) => Promise<void>,
): Promise<void> {
  const s = await startServer(opts.args, opts.env, opts.wrapper);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}
