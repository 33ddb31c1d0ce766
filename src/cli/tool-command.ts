import { readFileSync, statSync } from 'node:fs';
import { Args, Flags, type Command } from '@oclif/core';
import type { Core } from '../core/core.js';
import type { Tool } from '../kinds/kind.js';
import type { ToolDefinition } from '../manifest/types.js';
import { isExecutionResult, renderExecutionText } from '../results/execution-view.js';
import type { CallContext, Progress, ToolResult } from '../results/tool-result.js';
import { BaseCommand } from './base-command.js';
import { cliCaller, terminalConfirm } from './confirm.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { flagsFromSchema, kebab } from './schema-flags.js';
import { sharedCore } from './shared-core.js';
import { renderMapTable } from './map-table.js';
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
  const { flags, args, argNames, flagNames, rest } = cliFlags(m, runnable);
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
    // A tool with positional parameters (bpftrace's $1, $2, …) takes any number of arguments.
    static strict = rest === undefined;

    async run(): Promise<void> {
      const { args: parsedArgs, flags: parsed, argv } = await this.parse(ToolCommand);
      const c = core();
      if (tool.kind.sessionScoped?.(tool) && !c.runs.shared) {
        // Without the history, runs live in the process that started them; each CLI command is a new process.
        process.stderr.write(
          `Error: \`${this.config.bin} ${id}\` cannot see any trace with the history off (--no-history or MCPTRACE_HISTORY=off): runs then live in the process that started them, ` +
            `and each ${this.config.bin} command is a new process. Drop --no-history (or unset MCPTRACE_HISTORY) so every run is recorded and visible here.\n`,
        );
        process.exitCode = EXIT.input;
        return;
      }
      const input: Record<string, unknown> = {};
      for (const name of argNames) input[name] = (parsedArgs as Record<string, unknown>)[name];
      for (const [flag, prop] of Object.entries(flagNames)) {
        const v = (parsed as Record<string, unknown>)[flag];
        if (v !== undefined) input[prop] = m.cli.split?.includes(prop) ? String(v).split(/\s+/).filter(Boolean) : v;
      }
      if (rest) {
        // Not argv.slice(): when a flag's value equals a later argument (exec -p 42 PROG 42),
        // oclif's argv keeps the flag's copy in place of the argument's and moves the program
        // after it; removing the named arguments by value keeps what is really left, in order.
        const extra = [...(argv as string[])];
        for (const name of argNames) {
          const at = extra.indexOf(String((parsedArgs as Record<string, unknown>)[name]));
          if (at >= 0) extra.splice(at, 1);
        }
        if (extra.some((a) => /[{}]/.test(a))) {
          // `exec BEGIN { exit(); }` unquoted: the shell split the program into parameters.
          process.stderr.write(
            `Error: the arguments ${extra.map((a) => JSON.stringify(a)).join(' ')} after the program look like more of it: put quotes around the whole program, e.g. ${this.config.bin} ${id} 'BEGIN { exit(); }'\n`,
          );
          process.exitCode = EXIT.input;
          return;
        }
        if (extra.length) input[rest] = extra;
      }
      const refusal = flagRefusal(parsed as Record<string, unknown>) ?? (await readProgramFile(m, input));
      if (refusal) {
        process.stderr.write(`Error: ${refusal}\n`);
        process.exitCode = EXIT.input;
        return;
      }
      let noDeadline = false;
      if (runnable) {
        input.wait = true;
        // bpftrace runs until Ctrl-C; so does a trace here unless --timeout says otherwise.
        if (input.timeout === undefined || input.timeout === 0) {
          delete input.timeout;
          noDeadline = true;
        }
      }
      const { result, brokenPipe } = await this.callWithTerminal(
        input,
        runnable,
        Boolean(parsed.json),
        Boolean((parsed as { table?: boolean }).table),
        noDeadline,
        Boolean((parsed as { yes?: boolean }).yes),
      );
      if (parsed.debug && result.debug) process.stderr.write(`${result.debug}\n`);
      process.exitCode = brokenPipe ? EXIT.brokenPipe : exitCodeFor(result);
    }

    private async callWithTerminal(
      input: Record<string, unknown>,
      stream: boolean,
      json: boolean,
      table: boolean,
      noDeadline: boolean,
      yes: boolean,
    ): Promise<{ result: ToolResult; brokenPipe: boolean }> {
      const c = core();
      const abort = new AbortController();
      const spinner = new Spinner(process.stderr, Boolean(process.stderr.isTTY) && stream && !json);
      const out = new TerminalOutput(() => {
        // The reader went away (| head): stop the trace cleanly, as Ctrl-C would, and say nothing more.
        spinner.stop();
        abort.abort();
      });
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
      const ask = terminalConfirm({ yes });
      const ctx: CallContext = {
        signal: abort.signal,
        noDeadline,
        caller: cliCaller(),
        // The question needs the terminal line the spinner draws on.
        confirm: async (req) => {
          spinner.stop();
          return ask(req);
        },
      };
      if (stream && !json) {
        // bpftrace's own format by default, so scripts and stackcollapse-bpftrace.pl read it as
        // they read bpftrace; the aligned tables are for eyes only. Every line goes out, however
        // many: the run itself keeps only a bounded part.
        ctx.tap = {
          lines: (lines, map) => spinner.above(() => out.write(table && map ? renderMapTable(map, lines) : lines)),
          // The traced command's own output (-c) goes to stderr, so stdout stays the trace.
          command: (line) => spinner.above(() => out.writeErr(line)),
        };
        ctx.onProgress = (p) => spinner.update(progressLine(p));
      }
      try {
        const result = await c.callTool(m.name, input, ctx);
        spinner.stop();
        out.flush();
        if (out.broken) return { result, brokenPipe: true };
        if (json) process.stdout.write(`${JSON.stringify(result.structured, null, 2)}\n`);
        else if (stream && isExecutionResult(result.structured)) {
          process.stderr.write(`${cliWording(renderExecutionText(result.structured, { omitLines: true, streamed: true }), c)}\n`);
        } else if (result.isError) process.stderr.write(`Error: ${cliWording(result.text, c)}\n`);
        else process.stdout.write(`${result.verbatim ? result.text.replace(/\n$/, '') : cliWording(result.text, c)}\n`);
        return { result, brokenPipe: out.broken };
      } finally {
        process.off('SIGINT', onSigint);
        spinner.stop();
      }
    }
  }
  return ToolCommand as unknown as Command.Class;
}

/** The oclif flags and args of a tool, with its `cli:` presentation (short flags, split, rest). */
function cliFlags(m: ToolDefinition, runnable: boolean) {
  // In a terminal a trace runs in the foreground of its command: the tracer is that process's
  // child and ends with it, so "return an id and keep running" has no meaning here.
  const omit = new Set(runnable ? ['wait'] : []);
  if (m.cli.rest) omit.add(m.cli.rest);
  const built = flagsFromSchema(m.input, omit);
  const { flags, args } = built;
  for (const [prop, char] of Object.entries(m.cli.short ?? {})) {
    const f = flags[kebab(prop)];
    if (f) f.char = char;
  }
  for (const prop of m.cli.split ?? []) {
    const name = kebab(prop);
    const was = flags[name];
    if (was) flags[name] = Flags.string({ description: was.description, char: was.char, helpValue: "'CMD ARGS'" });
  }
  if (runnable && flags.timeout) {
    flags.timeout = Flags.custom<number | string>({
      description:
        'Stop the trace after this many seconds (SIGINT, so the maps still print). Without it, or with 0, the trace runs until Ctrl-C, as bpftrace does.',
      helpValue: 'seconds',
      parse: async (v: string) => (/^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v),
    })();
  }
  if (m.cli.program_file && args[m.cli.program_file]) {
    args[m.cli.program_file] = Args.string({
      description: 'The program text, a file holding it (e.g. /usr/sbin/opensnoop.bt), or - to read it from stdin.',
      required: true,
      ignoreStdin: true,
    });
  }
  if (m.cli.rest) {
    const p = (m.input.properties as Record<string, { description?: string }>)[m.cli.rest];
    args[m.cli.rest] = Args.string({ description: `${p?.description ?? ''} Any number, after the program.`.trim(), required: false, ignoreStdin: true });
  }
  return { ...built, rest: m.cli.rest };
}

/** A flag that means nothing in this output mode is refused with the reason, never ignored. */
function flagRefusal(flags: Record<string, unknown>): string | undefined {
  if (flags['include-maps'] && !flags.json) {
    return '--include-maps adds every map as typed JSON under "maps" in --json output; the text output already prints every map as bpftrace does. Add --json, or drop --include-maps';
  }
  if (flags.table && flags.json) return '--table draws printed maps as aligned text tables, and --json prints no text; use one of them';
  return undefined;
}

/**
 * bpftrace takes a program as a file (`bpftrace opensnoop.bt`) or from stdin (`-`); so does a
 * tool whose manifest names its program input `cli.program_file`. Text that could be a program
 * (it has a brace) is a program.
 */
async function readProgramFile(m: ToolDefinition, input: Record<string, unknown>): Promise<string | undefined> {
  const prop = m.cli.program_file;
  const value = prop ? input[prop] : undefined;
  if (!prop || typeof value !== 'string') return undefined;
  if (value === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    input[prop] = Buffer.concat(chunks).toString('utf8');
    return input[prop] ? undefined : 'the program read from stdin is empty; pipe a bpftrace program in, e.g. mcptrace exec - < prog.bt';
  }
  if (value.includes('{') || !(value.includes('/') || value.endsWith('.bt'))) return undefined;
  try {
    if (!statSync(value).isFile()) return `${value} is not a file; give a bpftrace program file, or the program text itself`;
    input[prop] = readFileSync(value, 'utf8');
    return undefined;
  } catch (e) {
    return `cannot read the program file ${value}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}. Give a readable .bt file, - for stdin, or the program text itself`;
  }
}

/** The terminal status line: the phase only when it says more than the status. */
export function progressLine(p: Progress): string {
  const phase = p.phase && p.phase !== p.status ? `  ${p.phase}` : '';
  return `${p.status} ${(p.elapsedMs / 1000).toFixed(1)}s  ${p.lines} ${p.lines === 1 ? 'line' : 'lines'}${phase}`;
}

/**
 * Texts are written once, for MCP; a person at a terminal gets the command to type instead of
 * a tool name ("start one with exec_program" reads "start one with mcptrace exec").
 */
export function cliWording(text: string, c: Core): string {
  let out = text;
  // Not "(exec_program)" in a run's header: that names the tool that ran.
  for (const t of c.tools) out = out.replace(new RegExp(`(?<![(])\\b${t.def.name}\\b(?![-/.)])`, 'g'), `mcptrace ${commandId(t.def).replace(/:/g, ' ')}`);
  return out;
}

/**
 * stdout for a streamed trace: lines are batched into one write per turn of the event loop,
 * and a reader that goes away (EPIPE, as with | head) stops the writing instead of crashing.
 */
class TerminalOutput {
  broken = false;
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly onBroken: () => void) {
    const handle = (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      if (!this.broken) {
        this.broken = true;
        this.pending = [];
        this.onBroken();
      }
    };
    process.stdout.on('error', handle);
    process.stderr.on('error', handle);
  }

  write(lines: readonly string[]): void {
    if (this.broken) return;
    this.pending.push(...lines);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  writeErr(line: string): void {
    this.flush();
    if (!this.broken) process.stderr.write(`${line}\n`);
  }

  flush(): void {
    this.scheduled = false;
    if (this.broken || this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    process.stdout.write(text);
  }
}
