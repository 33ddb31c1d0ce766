import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { principalLabel } from '../../src/mcp/auth/principal.js';
import { parseExpiry, tokenFile, TokenStore } from '../../src/mcp/auth/tokens.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');

/** A store in a fresh state directory (not yet created), on a clock the test moves. */
function fresh() {
  const stateDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-tokens-')), 'state');
  const clock = { now: T0 };
  const store = new TokenStore(tokenFile(stateDir), { now: () => clock.now });
  return { stateDir, clock, store, file: tokenFile(stateDir) };
}

function created(store: TokenStore, name: string, opts = {}) {
  const r = store.create(name, opts);
  if (!r.ok) throw new Error(r.message);
  return r;
}

describe('TokenStore', () => {
  it('creates a token that verifies to its principal; the file holds its hash, never its text, and is private', () => {
    const { store, file, stateDir } = fresh();
    const { token, record } = created(store, 'alice', { requestsPerMinute: 30, maxRuns: 2 });
    expect(token).toMatch(/^mcpt_[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({
      name: 'alice',
      scopes: ['trace:read', 'trace:run'],
      created: '2026-03-01T12:00:00.000Z',
      last4: token.slice(-4),
      requestsPerMinute: 30,
      maxRuns: 2,
      status: 'active',
    });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(5));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    const v = store.verify(token);
    expect(v).toEqual({ ok: true, principal: { kind: 'token', name: 'alice', scopes: ['trace:read', 'trace:run'], requestsPerMinute: 30, maxRuns: 2 } });
    if (v.ok) expect(principalLabel(v.principal)).toBe('token:alice');
  });

  it('tells a malformed token from an unknown one, and names no file to the client', () => {
    const { store } = fresh();
    created(store, 'alice');
    const malformed = store.verify('Bearer abc');
    expect(malformed).toMatchObject({ ok: false, reason: 'malformed' });
    expect(!malformed.ok && malformed.message).toContain('expected "mcpt_" and 43 base64url characters');
    const unknown = store.verify(`mcpt_${'A'.repeat(43)}`);
    expect(unknown).toMatchObject({ ok: false, reason: 'unknown' });
    expect(!unknown.ok && unknown.message).toContain('mcptrace token create');
    expect(!unknown.ok && unknown.message).not.toContain('tokens.json');
  });

  it('lists every token with its status; revoke stops it, and a second revoke says so', () => {
    const { store, clock } = fresh();
    const a = created(store, 'alice');
    created(store, 'ci', { scopes: ['trace:read'], expires: '1h' });
    clock.now += 1000;
    const r = store.revoke('alice');
    expect(r).toMatchObject({ ok: true, alreadyRevoked: false, record: { name: 'alice', status: 'revoked', revoked: '2026-03-01T12:00:01.000Z' } });
    expect(store.revoke('alice')).toMatchObject({ ok: true, alreadyRevoked: true });
    const v = store.verify(a.token);
    expect(v).toEqual({
      ok: false,
      reason: 'revoked',
      message: `token "alice" was revoked at 2026-03-01T12:00:01.000Z; ask the server's operator for a new one (mcptrace token create)`,
    });
    const list = store.list();
    expect(list.ok && list.tokens.map((t) => [t.name, t.status, t.scopes, t.expires])).toEqual([
      ['alice', 'revoked', ['trace:read', 'trace:run'], undefined],
      ['ci', 'active', ['trace:read'], '2026-03-01T13:00:00.000Z'],
    ]);
    // The name is free again once its token is revoked.
    const again = created(store, 'alice');
    expect(store.verify(again.token).ok).toBe(true);
    expect(store.verify(a.token)).toMatchObject({ reason: 'revoked' });
  });

  it('an expired token is refused with the time it expired; its name can be reused', () => {
    const { store, clock } = fresh();
    const { token } = created(store, 'ci', { expires: '90m' });
    const ok = store.verify(token);
    expect(ok.ok && ok.principal.expiresAt).toBe(T0 / 1000 + 90 * 60);
    clock.now += 90 * 60_000;
    expect(store.verify(token)).toEqual({
      ok: false,
      reason: 'expired',
      message: `token "ci" expired at 2026-03-01T13:30:00.000Z; ask the server's operator for a new one (mcptrace token create)`,
    });
    expect(store.list()).toMatchObject({ tokens: [{ name: 'ci', status: 'expired' }] });
    expect(store.create('ci').ok).toBe(true);
  });

  it('reads expiry as a duration or an ISO date, and refuses one in the past', () => {
    expect(parseExpiry('30d', T0)).toBe(T0 + 30 * 86400e3);
    expect(parseExpiry('12h', T0)).toBe(T0 + 12 * 3600e3);
    expect(parseExpiry('2026-12-31', T0)).toBe(Date.parse('2026-12-31T00:00:00Z'));
    expect(parseExpiry('2026-12-31T18:00Z', T0)).toBe(Date.parse('2026-12-31T18:00:00Z'));
    expect(parseExpiry('soon', T0)).toBeUndefined();
    const { store } = fresh();
    expect(store.create('a', { expires: 'soon' })).toMatchObject({
      ok: false,
      kind: 'input',
      message: expect.stringContaining('give 30d, 12h, 90m or an ISO date'),
    });
    expect(store.create('a', { expires: '2020-01-01' })).toMatchObject({
      ok: false,
      message: 'expiry "2020-01-01" (2020-01-01T00:00:00.000Z) is in the past: give a later date, or a duration such as 30d',
    });
  });

  it('refuses a bad name, unknown scopes (listing the valid ones) and a duplicate active name, all in one message', () => {
    const { store } = fresh();
    const bad = store.create('bad name', { scopes: ['trace:raed', 'admin'], requestsPerMinute: 0 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toBe(
      'token name "bad name" is not valid: use 1 to 64 letters, digits and _ . @ -, starting with a letter or digit (e.g. ci-runner, alice@laptop); ' +
        'unknown scope "trace:raed" (did you mean trace:read?): valid scopes are trace:read, trace:run, trace:admin; ' +
        'unknown scope "admin": valid scopes are trace:read, trace:run, trace:admin; ' +
        '--rpm must be a whole number ≥ 1, got 0',
    );
    expect(store.create('x'.repeat(65)).ok).toBe(false);
    expect(store.create('alice@laptop.local').ok).toBe(true);
    const { record } = created(store, 'bob');
    const dup = store.create('bob');
    expect(dup).toEqual({
      ok: false,
      kind: 'input',
      message: `a token named "bob" is already active (created 2026-03-01T12:00:00.000Z, ends …${record.last4}): revoke it first (mcptrace token revoke bob) or choose another name`,
    });
  });

  it('revoking an unknown name suggests the near one', () => {
    const { store, file } = fresh();
    expect(store.revoke('alice')).toEqual({
      ok: false,
      kind: 'not_found',
      message: `no token named "alice": ${file} holds no tokens (create one with mcptrace token create NAME)`,
    });
    created(store, 'alice');
    expect(store.revoke('alcie')).toEqual({
      ok: false,
      kind: 'not_found',
      message: 'no token named "alcie". Did you mean alice? See the names with: mcptrace token list',
    });
  });

  it('sees a revoke made by another process once the file changed, looking at most once a second', () => {
    const { store: server, clock, file } = fresh();
    const { token } = created(new TokenStore(file, { now: () => clock.now }), 'alice');
    expect(server.verify(token).ok).toBe(true);
    const cli = new TokenStore(file, { now: () => clock.now });
    expect(cli.revoke('alice').ok).toBe(true);
    // Within the second it keeps what it read; then it notices the new file.
    clock.now += 500;
    expect(server.verify(token).ok).toBe(true);
    clock.now += 500;
    expect(server.verify(token)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('a corrupt file is an error naming the file, line and column; verify then refuses every token', () => {
    const { store, clock, file } = fresh();
    const { token } = created(store, 'alice');
    expect(store.verify(token).ok).toBe(true);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('"scopes": [', '"scopes" ['));
    clock.now += 1000;
    const v = store.verify(token);
    expect(v).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(!v.ok && v.message).not.toContain(file);
    const load = store.load();
    expect(load.ok).toBe(false);
    const lines = good.split('\n');
    const line = lines.findIndex((l) => l.includes('"scopes"')) + 1;
    const col = lines[line - 1].indexOf('"scopes"') + '"scopes" '.length + 1;
    expect(!load.ok && load.message).toBe(
      `${file}:${line}:${col}: not valid JSON: colon expected [syntax]\n` +
        `  ${line} | ${lines[line - 1].replace('"scopes": [', '"scopes" [')}\n` +
        `  ${' '.repeat(String(line).length)} | ${' '.repeat(col - 1)}^\n` +
        'Fix it, or move it away to start with no tokens (it holds only hashes; every token in it stops working)',
    );
    // create refuses to write over it, rather than lose the tokens in it.
    expect(store.create('bob')).toMatchObject({ ok: false, kind: 'environment' });
    expect(store.list()).toMatchObject({ ok: false, kind: 'environment' });
  });

  it('a file that parses but is wrong says which entry and key', () => {
    const { store, file } = fresh();
    created(store, 'alice');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    data.tokens[0].scope = data.tokens[0].scopes;
    delete data.tokens[0].scopes;
    data.tokens[0].sha256 = 'xyz';
    writeFileSync(file, JSON.stringify(data));
    expect(store.load()).toEqual({
      ok: false,
      kind: 'environment',
      message:
        `${file}: tokens[0]: unknown key "scope" (did you mean scopes?); tokens[0].sha256: expected 64 lowercase hex digits; tokens[0].scopes: expected a list of scopes. ` +
        'Fix it, or move it away to start with no tokens (it holds only hashes; every token in it stops working)',
    });
  });

  it('warns about a file others can read, trusts none in a file others can write, and create makes it private again', () => {
    const { store, clock, file } = fresh();
    const { token } = created(store, 'alice');
    chmodSync(file, 0o644);
    expect(store.load()).toEqual({
      ok: true,
      tokens: 1,
      warnings: [`${file} has mode 644: others can read it (only hashes, but still); run chmod 600 ${file} (mcptrace token create and revoke also fix it)`],
    });
    clock.now += 1000;
    expect(store.verify(token).ok).toBe(true);
    chmodSync(file, 0o666);
    expect(store.load()).toMatchObject({ warnings: [expect.stringContaining('others can write it, and so add a token of their own')] });
    // Writable by others: anyone could have added a token, so none is trusted until it is fixed.
    clock.now += 1000;
    expect(store.verify(token)).toMatchObject({ ok: false, reason: 'unavailable', message: expect.stringMatching(/can be written by other users/) });
    created(store, 'bob');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(store.load()).toEqual({ ok: true, tokens: 2, warnings: [] });
    clock.now += 1000;
    expect(store.verify(token).ok).toBe(true);
  });

  it('an absent file is no tokens, and nothing is written until a token is made', () => {
    const { store, file } = fresh();
    expect(store.load()).toEqual({ ok: true, tokens: 0, warnings: [] });
    expect(store.verify(`mcpt_${'A'.repeat(43)}`)).toMatchObject({ reason: 'unknown' });
    expect(existsSync(file)).toBe(false);
  });
});
