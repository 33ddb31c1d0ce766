import { Core, type CoreOptions } from '../core/core.js';
import { formatProblem } from '../manifest/problem.js';
import { createServer, unknownToolsets, type ServerOptions } from './server.js';
import { LineTransport } from './stdio-transport.js';

/** Once the grace period of the last trace has passed, shutdown ends the process anyway. */
const SHUTDOWN_SLACK_MS = 5000;

/**
 * stdout carries the protocol only; everything for people goes to stderr. When the client dies,
 * stderr's reader dies with it: a log line must then be dropped, never raise an error (which
 * was logged, which raised another, forever, at 80% CPU).
 */
let stderrGone = false;
process.stderr.on('error', () => (stderrGone = true));
const log = (msg: string) => {
  if (stderrGone) return;
  try {
    process.stderr.write(`mcptrace: ${msg}\n`);
  } catch {
    stderrGone = true;
  }
};

const isBrokenPipe = (e: unknown) => ['EPIPE', 'ERR_STREAM_DESTROYED', 'ECONNRESET'].includes((e as NodeJS.ErrnoException)?.code ?? '');

export async function serveStdio(opts: CoreOptions, serverOpts: ServerOptions = {}): Promise<void> {
  const core = new Core(opts);
  for (const p of core.loaded.problems) log(`skipped: ${formatProblem(p)}`);
  const unknown = unknownToolsets(core, serverOpts.toolsets ?? []);
  if (unknown.length) {
    const known = [...new Set(core.tools.map((t) => t.def.toolset))].sort();
    log(`Error: unknown toolset ${unknown.map((t) => `"${t}"`).join(', ')}; valid toolsets: ${[...known, 'all'].join(', ')} (--toolsets or MCPTRACE_TOOLSETS)`);
    process.exit(2);
  }
  const { server, cleanup } = createServer(core, serverOpts);
  const transport = new LineTransport();
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log(`shutting down (${why}); stopping running traces`);
    // Every tracer gets its grace period to print its maps; then the process ends regardless.
    setTimeout(() => process.exit(0), core.runner.options.graceMs + SHUTDOWN_SLACK_MS).unref();
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  // A bug in one call must not take down the server and every trace it runs: report it on
  // stderr and keep serving. A broken pipe is the client going away: shut down.
  process.on('uncaughtException', (e) => (isBrokenPipe(e) ? void shutdown('client gone') : log(`internal error (please report): ${e.stack ?? e}`)));
  process.on('unhandledRejection', (e) =>
    isBrokenPipe(e) ? void shutdown('client gone') : log(`internal error (please report): ${(e as Error)?.stack ?? e}`),
  );
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  transport.onclose = () => void shutdown('client closed the connection');
  await server.connect(transport);
  const sets = serverOpts.toolsets ?? ['all'];
  const listed = sets.includes('all') ? core.tools.length : core.tools.filter((t) => sets.includes(t.def.toolset)).length;
  log(`serving ${core.tools.length} tools on stdio, ${listed} listed (toolsets: ${sets.join(',')})`);
}
