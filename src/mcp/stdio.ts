import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Core, type CoreOptions } from '../core/core.js';
import { formatProblem } from '../manifest/problem.js';
import { createServer, unknownToolsets, type ServerOptions } from './server.js';

/** stdout carries the protocol only; everything for people goes to stderr. */
const log = (msg: string) => process.stderr.write(`mcptrace: ${msg}\n`);

export async function serveStdio(opts: CoreOptions, serverOpts: ServerOptions = {}): Promise<void> {
  const core = new Core(opts);
  for (const p of core.loaded.problems) log(`skipped: ${formatProblem(p)}`);
  const unknown = unknownToolsets(core, serverOpts.toolsets ?? []);
  if (unknown.length) {
    const known = [...new Set(core.tools.map((t) => t.def.toolset))].sort();
    process.stderr.write(
      `Error: unknown toolset ${unknown.map((t) => `"${t}"`).join(', ')}; valid toolsets: ${[...known, 'all'].join(', ')} (--toolsets or MCPTRACE_TOOLSETS)\n`,
    );
    process.exit(2);
  }
  const { server, cleanup } = createServer(core, serverOpts);
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log(`shutting down (${why}); stopping running traces`);
    await cleanup();
    process.exit(0);
  };
  // A bug in one call must not take down the server and every trace it runs: report it on
  // stderr and keep serving.
  process.on('uncaughtException', (e) => log(`internal error (please report): ${e.stack ?? e}`));
  process.on('unhandledRejection', (e) => log(`internal error (please report): ${(e as Error)?.stack ?? e}`));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.stdin.on('end', () => void shutdown('stdin closed'));
  transport.onclose = () => void shutdown('transport closed');
  await server.connect(transport);
  const sets = serverOpts.toolsets ?? ['all'];
  const listed = sets.includes('all') ? core.tools.length : core.tools.filter((t) => sets.includes(t.def.toolset)).length;
  log(`serving ${core.tools.length} tools on stdio, ${listed} listed (toolsets: ${sets.join(',')})`);
}
