import { Flags } from '@oclif/core';
import fs from 'node:fs';
import path from 'node:path';
import { parseWhen, WHEN_HELP } from '../../builtins/history-tools.js';
import { AUDIT_FILE, AuditError, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, openAudit, type AuditEntry, type AuditQuery } from '../../history/audit.js';
import { historySettingsFrom, lazyHistory } from '../../history/open.js';
import { defaultStateDir } from '../../history/paths.js';
import { BaseCommand } from '../base-command.js';
import { EXIT } from '../exit-codes.js';

/** A column of the listing: what it shows of an entry. */
const COLUMNS: ((e: AuditEntry) => string)[] = [
  (e) => e.who,
  (e) => (e.remote ? `${e.via} ${e.remote}` : e.via),
  (e) => e.tool,
  (e) => e.verdict ?? '-',
  (e) => e.outcome,
  (e) => e.executionId ?? '-',
];

const DETAIL_CHARS = 120;

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const cut = (s: string, n = DETAIL_CHARS): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** What was run: the program's first line, else the argv, else the arguments. */
function detail(e: AuditEntry): string | undefined {
  if (e.program !== undefined) {
    const lines = e.program.split('\n').filter((l) => l.trim());
    if (!lines.length) return undefined;
    return cut(lines[0].trim()) + (lines.length > 1 ? `  (+${lines.length - 1} line${lines.length > 2 ? 's' : ''})` : '');
  }
  if (e.argv?.length) return cut(e.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' '));
  if (e.args && Object.keys(e.args).length) return cut(JSON.stringify(e.args));
  return undefined;
}

/**
 * One line a call, newest first, columns aligned; under it, indented, what it ran. Times in UTC,
 * as `mcptrace history` shows them.
 */
export function renderAudit(entries: readonly AuditEntry[]): string {
  const cells = entries.map((e) => COLUMNS.map((c) => c(e)));
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return entries
    .map((e, n) => {
      const when = e.at.slice(0, 19).replace('T', ' ');
      const head = [when, ...cells[n].map((c, i) => c.padEnd(widths[i])), duration(e.durationMs)].join('  ').trimEnd();
      const more = detail(e);
      return more ? `${head}\n    ${more}` : head;
    })
    .join('\n');
}

/** The filters given, as the user typed them, for the message of an empty listing. */
function filterText(flags: Record<string, unknown>): string {
  const given = ['who', 'tool', 'since', 'until'].filter((k) => flags[k] !== undefined).map((k) => `--${k} ${String(flags[k])}`);
  return given.length ? ` matching ${given.join(' ')}` : '';
}

/** `mcptrace audit`: who called which tool, when, with what verdict and outcome. */
export class Audit extends BaseCommand {
  static summary = 'Show who called which tool, when, and what came of it (the audit log).';
  static description =
    'Every call the MCP server and the CLI answer is recorded: who made it (token:NAME, oauth:SUBJECT, stdio:USER, cli:USER, or anonymous:ADDRESS under --no-auth), when, the tool, the program or argv that ran, the policy verdict, the outcome and the execution id, with secrets redacted. ' +
    'The log is kept in the run history, or in audit.jsonl in the state directory when the history is off; both are read. Newest first.';
  static examples = [
    '<%= config.bin %> audit',
    '<%= config.bin %> audit --since 24h --who alice',
    '<%= config.bin %> audit --who token:ci --tool exec_program --json',
  ];
  static flags = {
    since: Flags.string({ description: 'Calls made after this: an ISO date or time, a time ago (24h, 7d), today or yesterday.' }),
    until: Flags.string({ description: 'Calls made before this (same forms as --since).' }),
    who: Flags.string({
      description: 'Only this caller: a word matches every caller containing it (alice), a full label only itself (token:alice), a kind all of it (token:).',
    }),
    tool: Flags.string({ description: 'Only calls of this tool (e.g. exec_program).' }),
    limit: Flags.integer({ description: 'The most calls to show.', min: 1, max: MAX_AUDIT_LIMIT, default: DEFAULT_AUDIT_LIMIT }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Audit);
    const q: AuditQuery = { who: flags.who, tool: flags.tool, limit: flags.limit };
    for (const k of ['since', 'until'] as const) {
      const raw = flags[k];
      if (raw === undefined) continue;
      const ms = parseWhen(raw);
      if (ms === undefined) {
        process.stderr.write(`Error: --${k} "${raw}" is not a time: ${WHEN_HELP}\n`);
        process.exitCode = EXIT.input;
        return;
      }
      q[k] = new Date(ms);
    }
    // From this command's own flags, not process.argv: the same settings every command reads.
    const settings = historySettingsFrom(flags);
    if ('error' in settings) {
      process.stderr.write(`Error: ${settings.error}\n`);
      process.exitCode = EXIT.input;
      return;
    }
    const history = lazyHistory(settings, (m) => process.stderr.write(`mcptrace: ${m}\n`));
    const stateDir = settings.stateDir ?? defaultStateDir();
    const audit = openAudit({ history, stateDir });
    let entries: AuditEntry[];
    try {
      entries = audit.query(q);
    } catch (e) {
      if (!(e instanceof AuditError)) throw e;
      process.stderr.write(`Error: ${e.message}\n`);
      process.exitCode = EXIT.environment;
      return;
    } finally {
      audit.close();
      history.close();
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else if (entries.length) process.stdout.write(`${renderAudit(entries)}\n`);
    else {
      const file = path.join(stateDir, AUDIT_FILE);
      const where = audit.where === file ? file : `${audit.where}${fs.existsSync(file) ? ` or ${file}` : ''}`;
      process.stdout.write(`No audit entries${filterText(flags)} in ${where}.\n`);
    }
  }
}
