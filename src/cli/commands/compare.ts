import { Flags, type Command } from '@oclif/core';
import type { Core } from '../../core/core.js';
import type { Tool } from '../../kinds/kind.js';
import { BaseCommand } from '../base-command.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { inputFromParsed, wantsPng, writePicture } from '../picture-files.js';
import { flagsFromSchema } from '../schema-flags.js';
import { sharedCore } from '../shared-core.js';

/**
 * `mcptrace compare <a> <b>`: compare_runs for a terminal, on saved output files. Its inputs are
 * flags from the schema as for every tool, except the picture, which goes to a file:
 * --flamegraph diff.svg|diff.png writes the differential flame graph.
 */
export function compareCommand(tool: Tool, core: () => Core = sharedCore): Command.Class {
  const m = tool.def;
  const { flags, args, argNames, flagNames } = flagsFromSchema(m.input, new Set(['flamegraph', 'png']));

  class Compare extends BaseCommand {
    static id = 'compare';
    static summary = m.title;
    static description = `${m.description}\nIn a terminal, pass saved output files (\`mcptrace exec --json --include-maps … > before.json\`).`;
    static hiddenAliases = ['compare-runs', 'compare_runs'];
    static examples = ['<%= config.bin %> compare before.json after.json', '<%= config.bin %> compare before.json after.json --flamegraph diff.svg'];
    static args = args;
    static flags = {
      ...flags,
      flamegraph: Flags.string({
        description: 'Write the differential flame graph (red grew, blue shrank) to this file: .svg or .png.',
        helpValue: 'diff.svg',
      }),
    };
    static strict = true;

    async run(): Promise<void> {
      const { args: parsedArgs, flags: parsed } = await this.parse(Compare);
      const input = inputFromParsed(argNames, flagNames, parsedArgs, parsed);
      const file = parsed.flamegraph;
      const r = await core().callTool(m.name, { ...input, flamegraph: Boolean(file), png: Boolean(file && wantsPng(file)) });
      if (r.isError) {
        process.stderr.write(`Error: ${r.text}\n`);
        process.exitCode = exitCodeFor(r);
        return;
      }
      process.stdout.write(parsed.json ? `${JSON.stringify(r.structured, null, 2)}\n` : `${r.text}\n`);
      if (!file) return;
      if (await writePicture(r, file)) {
        process.stderr.write(`flamegraph written to ${file}\n`);
      } else {
        process.stderr.write(`Error: no differential flame graph: the two runs share no map keyed by kstack or ustack.\n`);
        process.exitCode = EXIT.input;
      }
    }
  }
  return Compare as unknown as Command.Class;
}
