#!/usr/bin/env node
// The oclif entry point: `mcptrace <command>`. Commands are built at start-up from the manifests.
//
// `serve` is what MCP clients start, often on every launch, so it skips oclif (which would also
// build every manifest into a command) and starts the server directly. `serve --help` still
// goes through oclif.
const [command, ...rest] = process.argv.slice(2);
if (command === 'serve' && !rest.some((a) => a === '--help' || a === '-h')) {
  const { serveFromArgv } = await import('../dist/mcp/serve-entry.js');
  await serveFromArgv(rest);
} else {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
