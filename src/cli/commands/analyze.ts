import { Flags, type Command } from '@oclif/core';
import type { Core } from '../../core/core.js';
import type { Tool } from '../../kinds/kind.js';
import type { ToolResult } from '../../results/tool-result.js';
import { BaseCommand } from '../base-command.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { inputFromParsed, wantsPng, writePicture } from '../picture-files.js';
import { flagsFromSchema } from '../schema-flags.js';
import { sharedCore } from '../shared-core.js';

/** What the terminal asks for with files, rather than with the tool's picture/png/folded inputs. */
const FILE_INPUTS = new Set(['picture', 'png', 'folded']);

/**
 * `mcptrace analyze <id|file>`: analyze_output for a terminal. The tool's own inputs become
 * flags as for every tool (from its schema, so they cannot drift); pictures go to files instead
 * of MCP content: --flamegraph out.svg, --chart out.svg|out.png, and --folded prints the folded
 * stacks alone, for flamegraph.pl, speedscope or a pipe.
 */
export function analyzeCommand(tool: Tool, core: () => Core = sharedCore): Command.Class {
  const m = tool.def;
  const { flags, args, argNames, flagNames } = flagsFromSchema(m.input, FILE_INPUTS);

  class Analyze extends BaseCommand {
    static id = 'analyze';
    static summary = m.title;
    static description = `${m.description}\nIn a terminal a run lives only as long as its command, so pass a saved output file: \`mcptrace exec --json --include-maps … > run.json\` or \`bpftrace -f json … > run.json\`.`;
    static hiddenAliases = ['analyze-output', 'analyze_output'];
    static examples = [
      "<%= config.bin %> exec --json --include-maps 'profile:hz:99 { @[kstack] = count(); }' --timeout 5 > profile.json",
      '<%= config.bin %> analyze profile.json --flamegraph profile.svg',
      '<%= config.bin %> analyze profile.json --folded > profile.folded',
      '<%= config.bin %> analyze reads.json --chart reads.png',
    ];
    static args = args;
    static flags = {
      ...flags,
      flamegraph: Flags.string({
        description: 'Write the flame graph of a stack map to this SVG file (searchable and zoomable in a browser), or PNG by extension.',
        helpValue: 'out.svg',
      }),
      chart: Flags.string({ description: 'Write a chart (histogram, time series or top keys) to this file: .svg or .png.', helpValue: 'out.svg|out.png' }),
      folded: Flags.boolean({ description: 'Print only the folded stacks ("root;…;leaf COUNT"), as stackcollapse scripts do.' }),
    };
    static strict = true;

    async run(): Promise<void> {
      const { args: parsedArgs, flags: parsed } = await this.parse(Analyze);
      const input = inputFromParsed(argNames, flagNames, parsedArgs, parsed);
      const call = (extra: Record<string, unknown>) => core().callTool(m.name, { ...input, ...extra });
      const fail = (r: ToolResult) => {
        process.stderr.write(`Error: ${r.text}\n`);
        process.exitCode = exitCodeFor(r);
      };
      const base = await call({ picture: 'none', folded: parsed.folded });
      if (base.isError) return fail(base);
      if (parsed.folded) {
        const folded = String(base.structured.folded ?? '');
        if (!folded) {
          process.stderr.write(
            `Error: ${input.execution_id} has no stack map to fold: trace with a map keyed by kstack or ustack, e.g. profile:hz:99 { @[kstack] = count(); }\n`,
          );
          process.exitCode = EXIT.input;
          return;
        }
        process.stdout.write(folded);
        return;
      }
      const written: string[] = [];
      for (const [picture, file] of [
        ['flamegraph', parsed.flamegraph],
        ['chart', parsed.chart],
      ] as const) {
        if (!file) continue;
        const r = await call({ picture, png: wantsPng(file) });
        if (r.isError) return fail(r);
        if (!(await writePicture(r, file))) {
          process.stderr.write(`Error: no ${picture} came back for ${input.execution_id}\n`);
          process.exitCode = EXIT.failed;
          return;
        }
        written.push(`${picture} written to ${file}`);
      }
      if (parsed.json) process.stdout.write(`${JSON.stringify(base.structured, null, 2)}\n`);
      else process.stdout.write(`${base.text}\n`);
      for (const w of written) process.stderr.write(`${w}\n`);
    }
  }
  return Analyze as unknown as Command.Class;
}
