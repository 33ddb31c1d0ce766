import os from 'node:os';
import type { Core } from '../core/core.js';
import { formatProblem } from '../manifest/problem.js';
import { unknownToolsets, type ServerOptions } from './server.js';

/** Once the grace period of the last trace has passed, shutdown ends the process anyway. */
const SHUTDOWN_SLACK_MS = 5000;

/**
 * stdout carries the protocol only; everything for people goes to stderr. When the client dies,
 * stderr's reader dies with it: a log line must then be dropped, never raise an error (which
 * was logged, which raised another, forever, at 80% CPU).
 */
let stderrGone = false;
process.stderr.on('error', () => (stderrGone = true));
export const log = (msg: string) => {
  if (stderrGone) return;
  try {
    process.stderr.write(`mcptrace: ${msg}\n`);
  } catch {
    stderrGone = true;
  }
};

const isBrokenPipe = (e: unknown) => ['EPIPE', 'ERR_STREAM_DESTROYED', 'ECONNRESET'].includes((e as NodeJS.ErrnoException)?.code ?? '');

/** The OS user this process runs as, for the audit log. */
export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** Logs the manifests that did not load, and exits on an unknown toolset (a typo). */
export function checkStart(core: Core, serverOpts: ServerOptions): void {
  for (const p of core.loaded.problems) log(`skipped: ${formatProblem(p)}`);
  const unknown = unknownToolsets(core, serverOpts.toolsets ?? []);
  if (unknown.length) {
    const known = [...new Set(core.tools.map((t) => t.def.toolset))].sort();
    log(`Error: unknown toolset ${unknown.map((t) => `"${t}"`).join(', ')}; valid toolsets: ${[...known, 'all'].join(', ')} (--toolsets or MCPTRACE_TOOLSETS)`);
    process.exit(2);
  }
}

/**
 * How a server process ends: on a signal, or when `stop` is called (the stdio client went away),
 * every running trace is stopped with SIGINT and gets its grace period to print its maps, then
 * the process exits regardless. A bug in one call must not take down the server and every trace
 * it runs: it is reported on stderr and serving goes on; a broken pipe is the client going away.
 */
export function manageProcess(core: Core, close: () => Promise<void> = async () => undefined): (why: string) => Promise<void> {
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log(`shutting down (${why}); stopping running traces`);
    setTimeout(() => process.exit(0), core.runner.options.graceMs + SHUTDOWN_SLACK_MS).unref();
    try {
      await Promise.all([close().catch(() => undefined), core.shutdown()]);
    } finally {
      process.exit(0);
    }
  };
  process.on('uncaughtException', (e) => (isBrokenPipe(e) ? void shutdown('client gone') : log(`internal error (please report): ${e.stack ?? e}`)));
  process.on('unhandledRejection', (e) =>
    isBrokenPipe(e) ? void shutdown('client gone') : log(`internal error (please report): ${(e as Error)?.stack ?? e}`),
  );
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig));
  return shutdown;
}

/** "serving 86 tools ..., 25 listed (toolsets: core)". */
export function servingLine(core: Core, serverOpts: ServerOptions, where: string): string {
  const sets = serverOpts.toolsets ?? ['all'];
  const listed = sets.includes('all') ? core.tools.length : core.tools.filter((t) => sets.includes(t.def.toolset)).length;
  return `serving ${core.tools.length} tools ${where}, ${listed} listed (toolsets: ${sets.join(',')})`;
}
