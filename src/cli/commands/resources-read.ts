import { Args } from '@oclif/core';
import { readResource } from '../../mcp/resources.js';
import { BaseCommand } from '../base-command.js';
import { EXIT } from '../exit-codes.js';
import { sharedCore } from '../shared-core.js';

export default class ResourcesRead extends BaseCommand {
  static summary = 'Print an MCP resource: an example, a probe, or one of our guides.';
  static description =
    "The same resources an MCP client reads: mcptrace://examples/{id} (ids from `mcptrace search`), mcptrace://probes/{probe}, mcptrace://docs/bpftrace-reference and mcptrace://docs/troubleshooting. A run's output (mcptrace://executions/…) exists only inside the `mcptrace serve` session that ran it.";
  static examples = [
    '<%= config.bin %> resources read mcptrace://examples/block-io-latency',
    '<%= config.bin %> resources read mcptrace://probes/tracepoint:block:block_rq_issue',
  ];
  static args = { uri: Args.string({ description: 'The resource URI', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ResourcesRead);
    try {
      const r = await readResource(sharedCore(), args.uri);
      if (flags.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else for (const c of r.contents) process.stdout.write('text' in c ? String(c.text) : '');
    } catch (e) {
      process.stderr.write(`Error: ${(e as Error).message.replace(/^MCP error -?\d+: /, '')}\n`);
      process.exitCode = EXIT.input;
    }
  }
}
