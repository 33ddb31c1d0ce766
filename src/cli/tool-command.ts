import { Flags, type Command } from '@oclif/core';
import type { Core } from '../core/core.js';
import type { Tool } from '../kinds/kind.js';
import type { ToolDefinition } from '../manifest/types.js';
import { isExecutionResult, renderExecutionText } from '../results/execution-view.js';
import type { CallContext, ToolResult } from '../results/tool-result.js';
import { BaseCommand } from './base-command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { flagsFromSchema, kebab } from './schema-flags.js';
import { sharedCore } from './shared-core.js';
import { terminalLines } from './map-table.js';
import { Spinner } from './spinner.js';

export function commandId(m: ToolDefinition): string {
  return m.aliases[0] ?? kebab(m.name);
}

const TABLE_FLAG = Flags.boolean({
  description: "Show printed maps as aligned tables. Not bpftrace's format: do not pipe it into scripts.",
});

/** Builds the oclif command for one manifest: flags from its schema, help from its text. */
export function commandForTool(tool: Tool, core: () => Core = sharedCore): Command.Class {
  const m = tool.def;
  const runnable = tool.kind.runnable;
  // In a terminal a trace runs in the foreground of its command: the tracer is that process's
  // child and ends with it, so "return an id and keep running" has no meaning here.
  const { flags, args, argNames, flagNames } = flagsFromSchema(m.input, runnable ? new Set(['wait']) : new Set());
  const id = commandId(m);
  const aliases = m.aliases.slice(1);
  // The tool's own name works too, for people coming from the MCP side, without cluttering help.
  const hiddenAliases = [...new Set([kebab(m.name), m.name])].filter((a) => a !== id && !aliases.includes(a));
  const examples = m.examples.map((ex) => {
    const parts = ['<%= config.bin %>', id];
    for (const [k, v] of Object.entries(ex.input)) {
      if (runnable && k === 'wait') continue;
      if (argNames.includes(k)) parts.push(`'${String(v).replace(/'/g, `'\\''`)}'`);
      else if (typeof v === 'boolean') parts.push(v ? `--${kebab(k)}` : `--no-${kebab(k)}`);
      else parts.push(`--${kebab(k)}`, /^[\w.:/-]+$/.test(String(v)) ? String(v) : `'${String(v)}'`);
    }
    return { description: ex.description, command: parts.join(' ') };
  });

  class ToolCommand extends BaseCommand {
    static id = id;
    static summary = m.title;
    static description = m.description;
    static aliases = aliases;
    static hiddenAliases = hiddenAliases;
    static examples = examples;
    static args = args;
    static flags = runnable && !('table' in flags) ? { ...flags, table: TABLE_FLAG } : flags;
    static strict = true;

    async run(): Promise<void> {
      const { args: parsedArgs, flags: parsed } = await this.parse(ToolCommand);
      const c = core();
      if (tool.kind.sessionScoped?.(tool) && !c.runner.store.shared) {
        // Runs live in the process that started them; each CLI command is a new process.
        process.stderr.write(
          `Error: \`${this.config.bin} ${id}\` cannot see any trace from a terminal: runs live in the process that started them, ` +
            `and each ${this.config.bin} command is a new process, so it can never see a run of another one. ` +
            `In a terminal a trace runs in the foreground of its own command (${this.config.bin} exec …, Ctrl-C stops it and prints the maps). ` +
            `${m.name} is for MCP clients, inside one \`${this.config.bin} serve\` session.\n`,
        );
        process.exitCode = EXIT.input;
        return;
      }
      const input: Record<string, unknown> = {};
      for (const name of argNames) input[name] = (parsedArgs as Record<string, unknown>)[name];
      for (const [flag, prop] of Object.entries(flagNames)) {
        const v = (parsed as Record<string, unknown>)[flag];
        if (v !== undefined) input[prop] = v;
      }
      if (runnable) input.wait = true;
      const result = await this.callWithTerminal(input, runnable, Boolean(parsed.json), Boolean((parsed as { table?: boolean }).table));
      if (parsed.debug && result.debug) process.stderr.write(`${result.debug}\n`);
      process.exitCode = exitCodeFor(result);
    }

    private async callWithTerminal(input: Record<string, unknown>, stream: boolean, json: boolean, table: boolean): Promise<ToolResult> {
      const c = core();
      const abort = new AbortController();
      const spinner = new Spinner(process.stderr, Boolean(process.stderr.isTTY) && stream && !json);
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          spinner.note('stopping: SIGINT sent to the tracer, waiting for its maps (Ctrl-C again to kill)');
          abort.abort();
        } else {
          for (const e of c.runner.list()) if (!e.finished && e.pid) process.kill(e.pid, 'SIGKILL');
          spinner.stop();
          process.stderr.write('killed\n');
          process.exit(EXIT.interrupted);
        }
      };
      process.on('SIGINT', onSigint);
      const ctx: CallContext = { signal: abort.signal };
      if (stream && !json) {
        // bpftrace's own format by default, so scripts and stackcollapse-bpftrace.pl read it as
        // they read bpftrace; the aligned tables are for eyes only.
        ctx.onLines = (lines, from, maps) => spinner.above(() => process.stdout.write(`${(table ? terminalLines(lines, from, maps) : lines).join('\n')}\n`));
        ctx.onProgress = (p) => spinner.update(`${p.status} ${(p.elapsedMs / 1000).toFixed(1)}s  ${p.lines} lines  ${p.phase}`);
      }
      try {
        const result = await c.callTool(m.name, input, ctx);
        spinner.stop();
        if (json) process.stdout.write(`${JSON.stringify(result.structured, null, 2)}\n`);
        else if (stream && isExecutionResult(result.structured)) process.stderr.write(`${renderExecutionText(result.structured, { omitLines: true })}\n`);
        else if (result.isError) process.stderr.write(`Error: ${result.text}\n`);
        else process.stdout.write(`${result.text}\n`);
        return result;
      } finally {
        process.off('SIGINT', onSigint);
        spinner.stop();
      }
    }
  }
  return ToolCommand as unknown as Command.Class;
}
