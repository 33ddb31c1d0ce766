import { serveStdio as serveSdkStdio } from '@modelcontextprotocol/server/stdio';
import { Core, type CoreOptions } from '../core/core.js';
import { checkStart, log, manageProcess, osUser, servingLine } from './lifecycle.js';
import { createServerFactory, type ServerOptions } from './server.js';
import { LineTransport } from './stdio-transport.js';

export async function serveStdio(opts: CoreOptions, serverOpts: ServerOptions = {}): Promise<void> {
  const core = new Core(opts);
  checkStart(core, serverOpts);
  // The client on stdio is whoever started this process: the audit log names the OS user.
  const caller = { who: `stdio:${osUser()}`, via: 'stdio' as const };
  const transport = new LineTransport();
  const shutdown = manageProcess(core);
  void transport.gone.then(() => shutdown('client closed the connection'));
  // One entry serves both eras: a 2025 client's initialize and a 2026 client's server/discover.
  serveSdkStdio(
    createServerFactory(core, serverOpts, () => caller),
    { transport, onerror: (e) => log(`protocol error: ${e.message}`) },
  );
  log(servingLine(core, serverOpts, 'on stdio'));
}
