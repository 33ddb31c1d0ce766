import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Core } from '../../src/core/core.js';
import type { Caller } from '../../src/results/tool-result.js';
import { createServerFactory, type ServerOptions } from '../../src/mcp/server.js';

export type Era = 'legacy' | 'modern';

/**
 * A real SDK v2 client and our server factory over linked in-memory transports, in either
 * protocol era: what crosses the wire, without a process. The same serving entry as stdio.
 */
export async function connectInMemory(
  core: Core,
  opts: { era?: Era; server?: ServerOptions; caller?: Caller; capabilities?: Record<string, unknown> } = {},
): Promise<{ client: Client; close: () => Promise<void> }> {
  const caller = opts.caller ?? { who: 'stdio:test', via: 'stdio' as const };
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(
    createServerFactory(core, opts.server ?? {}, () => caller),
    { transport: serverSide },
  );
  const client = new Client(
    { name: 'test', version: '1.0.0' },
    { capabilities: opts.capabilities ?? {}, ...(opts.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {}) },
  );
  await client.connect(clientSide);
  return {
    client,
    close: async () => {
      await client.close();
      await handle.close();
    },
  };
}
