import { captureOutput } from '@oclif/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenCreate, TokenList, TokenRevoke } from '../../src/cli/commands/token.js';
import { tokenFile, TokenStore } from '../../src/mcp/auth/tokens.js';

// The commands are not in dist/cli/commands.js yet, so they run from src as classes, under the
// repository's oclif config: the same parse, flags and catch() as `mcptrace token ...`.
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
type Cmd = typeof TokenCreate | typeof TokenList | typeof TokenRevoke;

async function run(cmd: Cmd, argv: string[], opts: { tty?: boolean } = {}) {
  const saved = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
  Object.defineProperty(process.stdout, 'isTTY', { value: Boolean(opts.tty), configurable: true });
  process.exitCode = undefined;
  try {
    const out = await captureOutput(() => cmd.run(argv, { root: REPO }));
    return { ...out, code: process.exitCode ?? 0 };
  } finally {
    if (saved) Object.defineProperty(process.stdout, 'isTTY', saved);
    else delete (process.stdout as { isTTY?: boolean }).isTTY;
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

const stateDir = () => mkdtempSync(path.join(os.tmpdir(), 'mcptrace-token-cli-'));

describe('mcptrace token', () => {
  it('create prints the token alone on stdout when it is not a terminal, and the note on stderr', async () => {
    const dir = stateDir();
    const r = await run(TokenCreate, ['ci', '--state-dir', dir, '--scopes', 'trace:read', '--expires', '30d', '--rpm', '20', '--max-runs', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mcpt_[A-Za-z0-9_-]{43}\n$/);
    const file = tokenFile(dir);
    expect(r.stderr).toMatch(/^Created token "ci" \(trace:read; expires \S+Z; 20 requests\/min; 1 runs at once\)\.\n/);
    expect(r.stderr).toContain(`This is the only time it is shown: only its SHA-256 hash is kept, in ${file}.\n`);
    expect(r.stderr).toContain('Clients send it as "Authorization: Bearer <token>" to mcptrace serve --http.\n');
    expect(new TokenStore(file).verify(r.stdout.trim())).toMatchObject({
      ok: true,
      principal: { kind: 'token', name: 'ci', scopes: ['trace:read'], requestsPerMinute: 20, maxRuns: 1 },
    });
  });

  it('create on a terminal says whose token it is; --json gives the token and its record', async () => {
    const dir = stateDir();
    const tty = await run(TokenCreate, ['alice', '--state-dir', dir], { tty: true });
    expect(tty.stdout).toMatch(/^Token "alice" \(trace:read, trace:run; never expires\):\n\n {2}mcpt_[A-Za-z0-9_-]{43}\n\n$/);
    expect(tty.stderr).not.toContain('Created token');
    const json = await run(TokenCreate, ['bob', '--state-dir', dir, '--json']);
    const j = JSON.parse(json.stdout);
    expect(j).toMatchObject({ name: 'bob', status: 'active', scopes: ['trace:read', 'trace:run'], expires: null, file: tokenFile(dir) });
    expect(j.token.slice(-4)).toBe(j.last4);
  });

  it('create refuses a bad scope or a taken name with exit 2 and the fix', async () => {
    const dir = stateDir();
    const bad = await run(TokenCreate, ['alice', '--state-dir', dir, '--scopes', 'trace:read,trace:rn']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('Error: unknown scope "trace:rn" (did you mean trace:run?): valid scopes are trace:read, trace:run, trace:admin\n');
    await run(TokenCreate, ['alice', '--state-dir', dir]);
    const dup = await run(TokenCreate, ['alice', '--state-dir', dir]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('revoke it first (mcptrace token revoke alice) or choose another name');
    const zero = await run(TokenCreate, ['carol', '--state-dir', dir, '--rpm', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--rpm');
  });

  it('list shows each token without its text; --json is parseable', async () => {
    const dir = stateDir();
    const a = await run(TokenCreate, ['alice', '--state-dir', dir]);
    await run(TokenCreate, ['ci', '--state-dir', dir, '--scopes', 'trace:read', '--rpm', '5']);
    await run(TokenRevoke, ['alice', '--state-dir', dir]);
    const list = await run(TokenList, ['--state-dir', dir]);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+SCOPES\s+TOKEN\s+CREATED\s+EXPIRES\s+LIMITS$/);
    expect(lines[1]).toMatch(
      new RegExp(`^alice\\s+revoked \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ\\s+trace:read,trace:run\\s+…${a.stdout.trim().slice(-4)}\\s+\\S+ \\S+\\s+never\\s+-$`),
    );
    expect(lines[2]).toMatch(/^ci\s+active\s+trace:read\s+…\S{4}\s+\S+ \S+\s+never\s+5\/min$/);
    expect(list.stdout).not.toContain(a.stdout.trim());
    const json = JSON.parse((await run(TokenList, ['--state-dir', dir, '--json'])).stdout);
    expect(json.map((t: any) => [t.name, t.status, t.requests_per_minute])).toEqual([
      ['alice', 'revoked', null],
      ['ci', 'active', 5],
    ]);
    expect((await run(TokenList, ['--state-dir', stateDir()])).stdout).toMatch(/^No tokens in .*tokens\.json; create one with: mcptrace token create NAME\n$/);
  });

  it('revoke stops the token, is idempotent, and suggests a name it does not know', async () => {
    const dir = stateDir();
    const token = (await run(TokenCreate, ['alice', '--state-dir', dir])).stdout.trim();
    const r = await run(TokenRevoke, ['alice', '--state-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Revoked token "alice" (…${token.slice(-4)}); a running mcptrace serve --http refuses it within a second.\n`);
    expect(new TokenStore(tokenFile(dir)).verify(token)).toMatchObject({ ok: false, reason: 'revoked' });
    expect((await run(TokenRevoke, ['alice', '--state-dir', dir])).stdout).toMatch(/^Token "alice" was already revoked at \S+; nothing changed\.\n$/);
    const unknown = await run(TokenRevoke, ['alcie', '--state-dir', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('Error: no token named "alcie". Did you mean alice? See the names with: mcptrace token list\n');
  });

  it('a corrupt token file exits 3 with its location, never a stack', async () => {
    const dir = stateDir();
    writeFileSync(tokenFile(dir), '{"version": 1, "tokens": [}\n');
    const r = await run(TokenList, ['--state-dir', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `Error: ${tokenFile(dir)}:1:27: not valid JSON: value expected [syntax]\n  1 | {"version": 1, "tokens": [}\n    |                           ^\n` +
        'Fix it, or move it away to start with no tokens (it holds only hashes; every token in it stops working)\n',
    );
    const json = await run(TokenList, ['--state-dir', dir, '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).error).toContain('not valid JSON');
  });

  it('without --state-dir, the tokens live in $MCPTRACE_STATE_DIR', async () => {
    const dir = stateDir();
    const saved = process.env.MCPTRACE_STATE_DIR;
    process.env.MCPTRACE_STATE_DIR = dir;
    try {
      const token = (await run(TokenCreate, ['env'])).stdout.trim();
      expect(new TokenStore(path.join(dir, 'tokens.json')).verify(token).ok).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.MCPTRACE_STATE_DIR;
      else process.env.MCPTRACE_STATE_DIR = saved;
    }
  });
});
