import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { toCallToolResult } from '../../src/mcp/server.js';
import { connectInMemory } from '../helpers/in-memory.js';

// A real client and server over linked in-memory transports: what crosses the wire, without
// a kernel. The stdio tests in test/integration run the built server against real bpftrace.
// Both protocol eras: a 2025 client (initialize) and a 2026-07-28 one (server/discover) see the same tools.
describe.each(['legacy', 'modern'] as const)('MCP server (in memory, %s era)', (era) => {
  let client: Client;
  let close: () => Promise<void>;
  const core = new Core({ env: { HOME: '/nonexistent' } });

  beforeAll(async () => {
    ({ client, close } = await connectInMemory(core, { era }));
    expect(client.getProtocolEra()).toBe(era);
  });
  afterAll(async () => {
    await close();
    await core.shutdown();
  });

  it('lists the MCPtrace tool names with their schemas', async () => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const n of ['list_probes', 'bpf_info', 'exec_program', 'get_result']) expect(byName[n]).toBeDefined();
    expect(byName.get_result.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    expect(byName.list_executions.outputSchema?.required).toEqual(['executions', 'count']);
  });

  it('answers a structured result that matches its outputSchema', async () => {
    const r = await client.callTool({ name: 'list_executions', arguments: {} });
    expect(r.structuredContent).toEqual({ executions: [], count: 0 });
    expect(r.isError).toBeUndefined();
  });

  it('returns bad input as an isError result whose text says how to fix it', async () => {
    const r = await client.callTool({ name: 'get_result', arguments: { execution_id: 'nope' } });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect((r.content as { text: string }[])[0].text).toContain('invalid value for "execution_id" (got "nope"): must match pattern');
  });
});

describe('toCallToolResult', () => {
  it('keeps structuredContent for a failed execution, which has the execution shape', () => {
    const r = toCallToolResult({ structured: { execution_id: 'exec-1', status: 'failed' }, text: 'failed', isError: true }, true);
    expect(r).toEqual({ content: [{ type: 'text', text: 'failed' }], structuredContent: { execution_id: 'exec-1', status: 'failed' }, isError: true });
  });
});
