import { Args, Flags } from '@oclif/core';
import { getPrompt, listPrompts } from '../../mcp/resources.js';
import { BaseCommand } from '../base-command.js';
import { EXIT } from '../exit-codes.js';

export default class PromptsGet extends BaseCommand {
  static summary = 'Print a workflow prompt, filled in (without a name: list them).';
  static description = 'The MCP prompts for common investigations, each walking discover → search → validate → run → analyse.';
  static examples = ['<%= config.bin %> prompts get', '<%= config.bin %> prompts get who_opens_file --arg path=/etc/hosts'];
  static args = { name: Args.string({ description: 'The prompt name', required: false }) };
  static flags = { arg: Flags.string({ description: 'An argument, as NAME=VALUE', multiple: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(PromptsGet);
    if (!args.name) {
      for (const p of listPrompts()) {
        const params = p.arguments.map((a) => (a.required ? a.name : `[${a.name}]`)).join(' ');
        process.stdout.write(`${p.name}${params ? ` ${params}` : ''}\n    ${p.description}\n`);
      }
      return;
    }
    const values = Object.fromEntries(
      (flags.arg ?? []).map((kv) => [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    try {
      const p = getPrompt(args.name, values);
      if (flags.json) process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
      else process.stdout.write(`${p.messages.map((m) => m.content.text).join('\n\n')}\n`);
    } catch (e) {
      process.stderr.write(`Error: ${(e as Error).message.replace(/^MCP error -?\d+: /, '')}\n`);
      process.exitCode = EXIT.input;
    }
  }
}
