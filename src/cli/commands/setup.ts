import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { applySetup, CLIENTS, ConfigFileError, planSetup, printedEntry, type ClientName } from '../client-config.js';
import { EXIT } from '../exit-codes.js';

export default class Setup extends BaseCommand {
  static summary = 'Add mcptrace to an MCP client’s configuration.';
  static description =
    'Writes the mcptrace server entry into the config file of Claude Desktop, Claude Code (user scope, ~/.claude.json), VS Code (.vscode/mcp.json in this directory) or Cursor. An existing file is edited in place as JSONC: comments, trailing commas and other entries are kept, and a file that does not parse is refused with its line and column. Idempotent: an up-to-date file is left alone; otherwise the old file is kept as FILE.bak.';
  static examples = ['<%= config.bin %> setup claude-desktop', '<%= config.bin %> setup vscode --dry-run', '<%= config.bin %> setup cursor --print'];
  static args = { client: Args.string({ description: 'The MCP client.', required: true, options: [...CLIENTS] }) };
  static flags = {
    'dry-run': Flags.boolean({ description: 'Show the file that would be written, and write nothing.' }),
    print: Flags.boolean({ description: 'Print only the server entry, to paste by hand; the existing config is not read.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Setup);
    const client = args.client as ClientName;
    // Printing an entry to paste by hand needs nothing from the existing config, so a broken
    // one cannot get in the way.
    if (flags.print) {
      process.stdout.write(printedEntry(client));
      return;
    }
    let plan;
    try {
      plan = planSetup(client);
    } catch (e) {
      if (e instanceof ConfigFileError) {
        process.stderr.write(`Error: ${e.message}\n`);
        process.exitCode = EXIT.input;
        return;
      }
      throw e;
    }
    if (flags['dry-run']) {
      process.stdout.write(
        `would ${plan.action === 'unchanged' ? 'leave unchanged' : plan.action} ${plan.file}${plan.backup ? ` (backup: ${plan.backup})` : ''}:\n${plan.content}`,
      );
      return;
    }
    applySetup(plan);
    process.stdout.write(
      plan.action === 'unchanged'
        ? `${plan.file} already has the mcptrace entry; nothing changed.\n`
        : `${plan.action === 'create' ? 'created' : 'updated'} ${plan.file}${plan.backup ? ` (previous version kept as ${plan.backup})` : ''}\nRestart ${client} to load the tools.\n`,
    );
  }
}
