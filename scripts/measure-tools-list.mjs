// Measures what tools/list costs an MCP client's context for each choice of toolsets: the
// bytes of the answer, and bytes/4 as a rough token count. Usage (after npm run build):
//   node scripts/measure-tools-list.mjs [core core,templates core,bcc all ...]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/run.js');
const choices = process.argv.slice(2).length ? process.argv.slice(2) : ['core', 'core,templates', 'core,bcc', 'all'];
for (const sets of choices) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'serve', '--toolsets', sets], stderr: 'ignore' });
  const client = new Client({ name: 'measure', version: '1.0.0' });
  await client.connect(transport);
  const listed = await client.listTools();
  const bytes = Buffer.byteLength(JSON.stringify(listed));
  process.stdout.write(`${sets.padEnd(16)} ${String(listed.tools.length).padStart(3)} tools  ${bytes} bytes  ~${Math.round(bytes / 4)} tokens\n`);
  await client.close();
}
