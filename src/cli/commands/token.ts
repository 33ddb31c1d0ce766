import { Args, Flags } from '@oclif/core';
import path from 'node:path';
import { defaultStateDir } from '../../history/paths.js';
import { SCOPES } from '../../mcp/auth/principal.js';
import { tokenFile, TokenStore, type TokenFailure, type TokenInfo } from '../../mcp/auth/tokens.js';
import { errorResult } from '../../results/tool-result.js';
import { BaseCommand } from '../base-command.js';
import { exitCodeFor } from '../exit-codes.js';

/** The token file of this command's state directory: --state-dir, else $MCPTRACE_STATE_DIR and the XDG default. */
function storeFor(stateDir: string | undefined): TokenStore {
  return new TokenStore(tokenFile(stateDir ? path.resolve(stateDir) : defaultStateDir()));
}

/** An error as every command prints one: the message on stderr (with --json, `{ error }` on stdout), and its exit code. */
function fail(f: TokenFailure, json: boolean): void {
  const r = errorResult(f.message, f.kind);
  if (json) process.stdout.write(`${JSON.stringify(r.structured, null, 2)}\n`);
  else process.stderr.write(`Error: ${f.message}\n`);
  process.exitCode = exitCodeFor(r);
}

const warn = (warnings: string[]) => {
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
};

/** 2026-12-31T18:00:00.000Z → 2026-12-31 18:00Z: a table has no room for seconds. */
const shortTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;

/** A token as --json prints it, in the snake_case of every mcptrace JSON output. */
function jsonOf(t: TokenInfo): Record<string, unknown> {
  return {
    name: t.name,
    status: t.status,
    scopes: t.scopes,
    last4: t.last4,
    created: t.created,
    expires: t.expires ?? null,
    revoked: t.revoked ?? null,
    requests_per_minute: t.requestsPerMinute ?? null,
    max_runs: t.maxRuns ?? null,
  };
}

function describe(t: TokenInfo): string {
  const limits = [t.requestsPerMinute && `${t.requestsPerMinute} requests/min`, t.maxRuns && `${t.maxRuns} runs at once`].filter(Boolean);
  return [t.scopes.join(', '), t.expires ? `expires ${t.expires}` : 'never expires', ...limits].join('; ');
}

/** `mcptrace token create NAME`: a new API token for `serve --http`, shown this once. */
export class TokenCreate extends BaseCommand {
  static summary = 'Create an API token for mcptrace serve --http; it is shown once.';
  static description = `Prints the token on stdout (alone on its line when stdout is not a terminal, so TOKEN=$(mcptrace token create ci) works). Only its SHA-256 hash is kept, in tokens.json of the state directory. Scopes: ${SCOPES.join(', ')}; default trace:read,trace:run.`;
  static examples = [
    '<%= config.bin %> token create alice',
    '<%= config.bin %> token create ci --scopes trace:read --expires 30d',
    '<%= config.bin %> token create grafana --expires 2026-12-31 --rpm 30 --max-runs 1',
  ];
  static args = { name: Args.string({ description: 'Who the token is for: 1-64 letters, digits and _ . @ -.', required: true }) };
  static flags = {
    scopes: Flags.string({ description: `Comma-separated scopes (${SCOPES.join(', ')}). Default trace:read,trace:run.`, helpValue: 'scope,...' }),
    expires: Flags.string({ description: 'When it stops working: 30d, 12h, 90m, or an ISO date (2026-12-31). Default never.', helpValue: 'when' }),
    rpm: Flags.integer({ description: "Requests per minute for this token, in place of the server's limit.", min: 1 }),
    'max-runs': Flags.integer({ description: 'Traces this token may have running at once.', min: 1 }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TokenCreate);
    const json = Boolean(flags.json);
    const store = storeFor(flags['state-dir']);
    const r = store.create(args.name, {
      scopes: flags.scopes?.split(/[\s,]+/).filter(Boolean),
      expires: flags.expires,
      requestsPerMinute: flags.rpm,
      maxRuns: flags['max-runs'],
    });
    if (!r.ok) return fail(r, json);
    if (json) process.stdout.write(`${JSON.stringify({ token: r.token, ...jsonOf(r.record), file: store.file }, null, 2)}\n`);
    else if (process.stdout.isTTY) process.stdout.write(`Token "${r.record.name}" (${describe(r.record)}):\n\n  ${r.token}\n\n`);
    else process.stdout.write(`${r.token}\n`);
    // On stderr, so that stdout holds the token alone for a script to capture.
    process.stderr.write(
      `${process.stdout.isTTY || json ? '' : `Created token "${r.record.name}" (${describe(r.record)}).\n`}` +
        `This is the only time it is shown: only its SHA-256 hash is kept, in ${store.file}.\n` +
        `Clients send it as "Authorization: Bearer <token>" to mcptrace serve --http.\n`,
    );
  }
}

/** `mcptrace token list`: every token, its scopes and whether it still works; never the token. */
export class TokenList extends BaseCommand {
  static summary = 'List the API tokens of mcptrace serve --http (their names, never the tokens).';
  static description = 'Revoked and expired tokens are listed too, with their status. TOKEN shows the last 4 characters, to tell tokens apart.';
  static examples = ['<%= config.bin %> token list', '<%= config.bin %> token list --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(TokenList);
    const json = Boolean(flags.json);
    const store = storeFor(flags['state-dir']);
    const r = store.list();
    if (!r.ok) return fail(r, json);
    warn(r.warnings);
    if (json) {
      process.stdout.write(`${JSON.stringify(r.tokens.map(jsonOf), null, 2)}\n`);
      return;
    }
    if (!r.tokens.length) {
      process.stdout.write(`No tokens in ${store.file}; create one with: mcptrace token create NAME\n`);
      return;
    }
    const rows = r.tokens.map((t) => [
      t.name,
      t.status === 'revoked' ? `revoked ${shortTime(t.revoked!)}` : t.status,
      t.scopes.join(','),
      `…${t.last4}`,
      shortTime(t.created),
      t.expires ? shortTime(t.expires) : 'never',
      [t.requestsPerMinute && `${t.requestsPerMinute}/min`, t.maxRuns && `${t.maxRuns} runs`].filter(Boolean).join(', ') || '-',
    ]);
    const head = ['NAME', 'STATUS', 'SCOPES', 'TOKEN', 'CREATED', 'EXPIRES', 'LIMITS'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    process.stdout.write(`${[head, ...rows].map(line).join('\n')}\n`);
  }
}

/** `mcptrace token revoke NAME`: the token stops working, in a running server too. */
export class TokenRevoke extends BaseCommand {
  static summary = 'Revoke an API token; a running mcptrace serve --http refuses it within a second.';
  static examples = ['<%= config.bin %> token revoke alice'];
  static args = { name: Args.string({ description: 'The token’s name (see mcptrace token list).', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TokenRevoke);
    const json = Boolean(flags.json);
    const r = storeFor(flags['state-dir']).revoke(args.name);
    if (!r.ok) return fail(r, json);
    if (json) process.stdout.write(`${JSON.stringify({ ...jsonOf(r.record), already_revoked: r.alreadyRevoked }, null, 2)}\n`);
    else if (r.alreadyRevoked) process.stdout.write(`Token "${r.record.name}" was already revoked at ${r.record.revoked}; nothing changed.\n`);
    else process.stdout.write(`Revoked token "${r.record.name}" (…${r.record.last4}); a running mcptrace serve --http refuses it within a second.\n`);
  }
}
