import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { SERVE_OPTIONS, toCoreOptions, toolsetsFrom, withDefaultListen } from '../../mcp/serve-options.js';

// Built from data, so typed loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const flags: Record<string, any> = Object.fromEntries(
  Object.entries(SERVE_OPTIONS).map(([name, o]) => [
    name,
    o.type === 'boolean' || ((o.type === 'history' || o.type === 'net') && o.kind === 'boolean')
      ? Flags.boolean({ description: o.description })
      : o.type === 'net'
        ? o.kind === 'integer'
          ? Flags.integer({ description: o.description, min: 1, helpValue: o.helpValue })
          : o.kind === 'strings'
            ? Flags.string({ description: o.description, helpValue: o.helpValue, multiple: true })
            : Flags.string({ description: o.description, helpValue: o.helpValue })
        : o.type === 'history'
          ? o.kind === 'integer'
            ? Flags.integer({ description: o.description, min: 1 })
            : Flags.string({ description: o.description, helpValue: 'dir' })
          : o.type === 'dirs'
            ? Flags.string({ description: o.description, multiple: true, helpValue: 'dir' })
            : o.type === 'list'
              ? Flags.string({ description: o.description, helpValue: 'set,...' })
              : o.type === 'string'
                ? Flags.string({ description: o.description, helpValue: o.helpValue, options: o.choices ? [...o.choices] : undefined })
                : Flags.integer({ description: o.description, min: o.min, max: o.max }),
  ]),
);

/**
 * `mcptrace serve`. MCP clients reach the same server through bin/run.js's fast path, which
 * skips oclif; this command serves `serve --help` and anyone calling it through oclif.
 */
export default class Serve extends BaseCommand {
  static summary = 'Run the MCP server on stdio, or over HTTP with --http.';
  static description =
    'Serves every loaded tool manifest as an MCP tool, to 2025-era and 2026-07-28 clients alike. On stdio, stdout carries the protocol only; logs go to stderr. With --http, Streamable HTTP at /mcp, with bearer tokens (mcptrace token create) or OAuth, per-tool scopes, rate limits and an audit log (mcptrace audit).';
  static examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --tools-dir ./my-tools --concurrency 2',
    '<%= config.bin %> serve --http                  # 127.0.0.1:8722',
    '<%= config.bin %> serve --http 0.0.0.0:8722 --tls-cert cert.pem --tls-key key.pem --allowed-host trace.example.com',
  ];
  // Only the server's own options (SERVE_OPTIONS, which include --tools-dir and the history's
  // flags): the fast path in bin/run.js parses exactly these, so help must not list the CLI's
  // --json, --yes or --debug, which a server has no use for.
  static baseFlags = {} as typeof BaseCommand.baseFlags;
  static flags = flags;

  async run(): Promise<void> {
    const { flags: values } = await this.parse(Serve, withDefaultListen(this.argv));
    // Loaded here, not at the top: the MCP SDK is not needed for any other command's start-up.
    const v = values as Record<string, string | boolean | string[] | number | undefined>;
    if (v.http !== undefined) {
      const { serveHttp } = await import('../../mcp/serve-http.js');
      await serveHttp(v);
    } else {
      const { serveStdio } = await import('../../mcp/stdio.js');
      await serveStdio(toCoreOptions(v), { toolsets: toolsetsFrom(v) });
    }
    // Runs until stdin closes or a signal arrives; serveStdio exits the process then.
    await new Promise(() => undefined);
  }
}
