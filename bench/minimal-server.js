// The start-up baseline: the same MCP SDK (v2, as `mcptrace serve`) on stdio with a single trivial tool.
import { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

serveStdio(() => {
  const server = new Server({ name: 'minimal', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', async () => ({
    tools: [{ name: 'echo', description: 'Echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }],
  }));
  server.setRequestHandler('tools/call', async (req) => ({ content: [{ type: 'text', text: String(req.params.arguments?.text ?? '') }] }));
  return server;
});
