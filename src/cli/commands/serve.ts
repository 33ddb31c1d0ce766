import { Command, Flags } from '@oclif/core';

export default class Serve extends Command {
  static summary = 'Run the MCP server on stdio.';
  static description = 'Serves every loaded tool manifest as an MCP tool over stdio. stdout carries the protocol only; logs go to stderr.';
  static examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --tools-dir ./my-tools --concurrency 2'];
  static flags = {
    'tools-dir': Flags.string({ description: 'Also load tool manifests from this directory.', multiple: true, helpValue: 'dir' }),
    concurrency: Flags.integer({ description: 'Traces running at once.', min: 1, max: 64, default: 4 }),
    'max-queued': Flags.integer({ description: 'Traces waiting for a slot before new ones are refused.', min: 0, max: 1000, default: 16 }),
    'grace-ms': Flags.integer({ description: 'Time between SIGINT and SIGKILL when stopping a trace.', min: 100, default: 30000 }),
    'mount-tracefs': Flags.boolean({ description: 'Mount tracefs when it is missing (root only).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    // Loaded here, not at the top: the MCP SDK is not needed for any other command's start-up.
    const { serveStdio } = await import('../../mcp/stdio.js');
    await serveStdio({
      toolsDirs: flags['tools-dir'],
      runner: {
        concurrency: flags.concurrency,
        maxQueued: flags['max-queued'],
        graceMs: flags['grace-ms'],
        ...(flags['mount-tracefs'] ? { autoMountTracefs: true } : {}),
      },
    });
    // Runs until stdin closes or a signal arrives; serveStdio exits the process then.
    await new Promise(() => undefined);
  }
}
