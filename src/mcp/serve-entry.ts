import { parseServeArgv, toCoreOptions, toolsetsFrom } from './serve-options.js';
import { serveStdio } from './stdio.js';

/** The fast path for `mcptrace serve`, started by bin/run.js without oclif. */
export async function serveFromArgv(argv: string[]): Promise<void> {
  const parsed = parseServeArgv(argv);
  if ('error' in parsed) {
    process.stderr.write(`Error: ${parsed.error}\n`);
    process.exit(2);
  }
  if (parsed.values.http !== undefined) {
    const { serveHttp } = await import('./serve-http.js');
    await serveHttp(parsed.values);
    return;
  }
  await serveStdio(toCoreOptions(parsed.values), { toolsets: toolsetsFrom(parsed.values) });
}
