import { BaseCommand } from '../base-command.js';
import { sharedCore } from '../shared-core.js';
import { commandId } from '../tool-command.js';

export default class ToolsList extends BaseCommand {
  static summary = 'List the loaded tools.';
  static description = 'Every manifest loaded from tools.d and the user tool directories, with its kind and command.';
  static examples = ['<%= config.bin %> tools list', '<%= config.bin %> tools list --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(ToolsList);
    const core = sharedCore();
    const rows = core.tools.map(({ def: m }) => ({
      name: m.name,
      kind: m.kind,
      command: commandId(m).replace(/:/g, ' '),
      title: m.title,
      description: m.description,
      file: m.file,
    }));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const w = (k: 'name' | 'kind' | 'command') => Math.max(k.length, ...rows.map((r) => r[k].length));
    const [wn, wk, wc] = [w('name'), w('kind'), w('command')];
    const cols = process.stdout.columns || 120;
    const lines = [`${'NAME'.padEnd(wn)}  ${'KIND'.padEnd(wk)}  ${'COMMAND'.padEnd(wc)}  DESCRIPTION`];
    for (const r of rows) {
      const head = `${r.name.padEnd(wn)}  ${r.kind.padEnd(wk)}  ${r.command.padEnd(wc)}  `;
      const first = r.description.split(/(?<=\.)\s/)[0];
      lines.push(head + (head.length + first.length > cols ? `${first.slice(0, Math.max(20, cols - head.length - 1))}…` : first));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const p of core.loaded.problems) process.stderr.write(`skipped: ${p.file}:${p.line}:${p.col}: ${p.message} [${p.kind}]\n`);
  }
}
