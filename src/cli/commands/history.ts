import { Args, Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import type { ToolResult } from '../../results/tool-result.js';
import { BaseCommand } from '../base-command.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { sharedCore } from '../shared-core.js';
import { cliWording } from '../tool-command.js';

/** Prints a tool's answer as every tool command does: its text, or with --json its structured result. */
function print(r: ToolResult, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(r.structured, null, 2)}\n`);
  else (r.isError ? process.stderr : process.stdout).write(`${r.isError ? 'Error: ' : ''}${cliWording(r.text, sharedCore()).replace(/\n?$/, '\n')}`);
  process.exitCode = exitCodeFor(r);
}

/** `mcptrace history [QUERY]`: the newest runs, or the runs whose words match (search_history). */
export class History extends BaseCommand {
  static summary = 'Show past runs, or search them by the words of their program, error and output.';
  static description =
    'Without a query: the newest recorded runs of every mcptrace process on this machine (list_executions). With one: search_history, best match first, attempts of one intent together. Every id works with mcptrace result, analyze and compare.';
  static examples = ['<%= config.bin %> history', '<%= config.bin %> history vfs_read --since 24h', '<%= config.bin %> history "page fault" --include-failed'];
  static args = { query: Args.string({ description: 'Words to find (all must match).', required: false }) };
  static strict = false;
  static flags = {
    tool: Flags.string({ description: 'Only runs of this tool (e.g. exec_program).' }),
    status: Flags.string({ description: 'Only runs with this status (completed, failed, stopped, timed_out, interrupted, running).' }),
    since: Flags.string({ description: 'Runs started after this: an ISO date or time, a time ago (24h, 7d), today or yesterday.' }),
    until: Flags.string({ description: 'Runs started before this (same forms as --since).' }),
    'include-failed': Flags.boolean({ description: 'Also failed runs (search only; a plain listing shows every status).' }),
    limit: Flags.integer({ description: 'The most runs (or chains) to show.', min: 1, max: 1000, default: 20 }),
  };

  async run(): Promise<void> {
    const { args, flags, argv } = await this.parse(History);
    const query = (argv as string[]).join(' ').trim() || args.query;
    const core = sharedCore();
    const r = query
      ? await core.callTool('search_history', {
          query,
          tool: flags.tool,
          status: flags.status,
          since: flags.since,
          until: flags.until,
          include_failed: flags['include-failed'],
          limit: flags.limit,
        })
      : await core.callTool('list_executions', { tool: flags.tool, status: flags.status, limit: flags.limit });
    print(r, Boolean(flags.json));
    await core.shutdown();
  }
}

/** `mcptrace history prune`: the retention, applied now, with the limits given or the defaults. */
export class HistoryPrune extends BaseCommand {
  static summary = 'Delete old runs from the history now (a running run is never deleted).';
  static description =
    'Applies the retention by hand: finished runs past the age, then the oldest past the count and the size. Every mcptrace process also applies it when it opens the history. The limits are the global --history-max-runs, --history-max-age and --history-max-mb flags (or their MCPTRACE_HISTORY_MAX_* variables).';
  static examples = [
    '<%= config.bin %> history prune',
    '<%= config.bin %> history prune --history-max-age 7',
    '<%= config.bin %> history prune --history-max-runs 100',
  ];

  async run(): Promise<void> {
    const { flags } = await this.parse(HistoryPrune);
    const core = sharedCore();
    const history = core.runs.history;
    if (!history) {
      process.stderr.write('Error: the history is off or could not be opened (see above); nothing to prune\n');
      process.exitCode = EXIT.environment;
      return;
    }
    // Opening applied the retention already (every process does): that counts too.
    const atOpen = core.history?.prunedAtOpen ?? { deleted: 0, bytesFreed: 0 };
    const before = history.stats();
    const retention = {
      ...(flags['history-max-runs'] ? { maxRuns: flags['history-max-runs'] } : {}),
      ...(flags['history-max-age'] ? { maxAgeDays: flags['history-max-age'] } : {}),
      ...(flags['history-max-mb'] ? { maxBytes: flags['history-max-mb'] * 2 ** 20 } : {}),
    };
    const now = history.prune(retention);
    const deleted = atOpen.deleted + now.deleted;
    const bytesFreed = atOpen.bytesFreed + now.bytesFreed;
    const after = history.stats();
    const result = {
      deleted,
      bytes_freed: bytesFreed,
      runs_before: before.runs + atOpen.deleted,
      runs_after: after.runs,
      file_bytes: after.fileBytes,
      path: history.path,
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      process.stdout.write(
        `pruned ${deleted} run${deleted === 1 ? '' : 's'} (${(bytesFreed / 2 ** 20).toFixed(1)} MiB); ${after.runs} left in ${history.path} (${(after.fileBytes / 2 ** 20).toFixed(1)} MiB on disk)\n`,
      );
    await core.shutdown();
  }
}

/** `mcptrace session import FILE`: import_session with the file's text, problems located in it. */
export class SessionImport extends BaseCommand {
  static summary = 'Import a session from a YAML file (as session export writes it).';
  static examples = ['<%= config.bin %> session import disk-latency.yaml', '<%= config.bin %> session import - < disk-latency.yaml'];
  static args = { file: Args.string({ description: 'The session file, or - for stdin.', required: true }) };
  static flags = { replace: Flags.boolean({ description: 'Replace a session of the same name.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SessionImport);
    let yaml: string;
    try {
      yaml = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
    } catch (e) {
      process.stderr.write(`Error: cannot read ${args.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      process.exitCode = EXIT.input;
      return;
    }
    const core = sharedCore();
    print(await core.callTool('import_session', { yaml, file: args.file === '-' ? 'stdin' : args.file, replace: flags.replace }), Boolean(flags.json));
    await core.shutdown();
  }
}

/** `mcptrace session show NAME`: one session's calls (list_sessions by name). */
export class SessionShow extends BaseCommand {
  static summary = "Show a saved session's calls.";
  static examples = ['<%= config.bin %> session show disk-latency'];
  static args = { name: Args.string({ description: 'The session.', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SessionShow);
    const core = sharedCore();
    print(await core.callTool('list_sessions', { name: args.name }), Boolean(flags.json));
    await core.shutdown();
  }
}
