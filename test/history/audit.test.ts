import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_FILE, localCaller, openAudit, redact, type AuditEntry, type AuditLog } from '../../src/history/audit.js';
import { migrate, SCHEMA_VERSION } from '../../src/history/db.js';
import { lazyHistory } from '../../src/history/open.js';
import { HistoryStore } from '../../src/history/store.js';
import { meta, rawDb, record, tempDir } from './fixtures.js';

let dir: string;
let stateDir: string;
let file: string;
const stores: HistoryStore[] = [];
const audits: AuditLog[] = [];
let logged: string[];

function openStore(opts: Parameters<typeof HistoryStore.open>[1] = {}): HistoryStore {
  const { store, warnings } = HistoryStore.open(file, opts);
  expect(warnings).toEqual([]);
  stores.push(store);
  return store;
}

function audit(opts: Partial<Parameters<typeof openAudit>[0]> = {}): AuditLog {
  const a = openAudit({ stateDir, log: (m) => logged.push(m), ...opts });
  audits.push(a);
  return a;
}

const T0 = Date.parse('2026-12-07T07:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return { at: at(0), who: 'token:alice', via: 'http', remote: '127.0.0.1', tool: 'exec_program', outcome: 'ok', ...over };
}

/** Five calls of three callers over four hours, written oldest first. */
function fill(a: AuditLog): void {
  a.record(entry({ at: at(0), who: 'token:alice', tool: 'exec_program', executionId: 'exec-a1', verdict: 'allow', program: 'BEGIN { exit(); }' }));
  a.record(entry({ at: at(60), who: 'oauth:bob@example.com', tool: 'list_probes', args: { pattern: 'vfs_*' } }));
  a.record(entry({ at: at(120), who: 'stdio:carol', via: 'stdio', remote: undefined, tool: 'exec_program', outcome: 'error:policy', verdict: 'refuse' }));
  a.record(entry({ at: at(180), who: 'token:alice2', tool: 'stop_execution', args: { execution_id: 'exec-a1' } }));
  a.record(
    entry({ at: at(240), who: 'token:alice', tool: 'exec_program', outcome: 'started', durationMs: 1234.5, argv: ['bpftrace', '-f', 'json', '-e', 'x'] }),
  );
}

const ats = (es: AuditEntry[]) => es.map((e) => e.at);

beforeEach(() => {
  dir = tempDir('mcptrace-audit-');
  stateDir = path.join(dir, 'mcptrace');
  file = path.join(stateDir, 'history.db');
  logged = [];
});

afterEach(() => {
  for (const a of audits.splice(0)) a.close();
  for (const s of stores.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The filters, on whichever sink: both must answer alike. */
function checkFilters(a: AuditLog): void {
  expect(ats(a.query())).toEqual([at(240), at(180), at(120), at(60), at(0)]);
  expect(ats(a.query({ since: new Date(at(60)) }))).toEqual([at(240), at(180), at(120), at(60)]);
  expect(ats(a.query({ until: new Date(at(60)) }))).toEqual([at(60), at(0)]);
  expect(ats(a.query({ since: new Date(at(30)), until: new Date(at(150)) }))).toEqual([at(120), at(60)]);
  // A word: every label containing it, in any case; a full label: exactly that one; a kind: all of it.
  expect(a.query({ who: 'ALICE' }).map((e) => e.who)).toEqual(['token:alice', 'token:alice2', 'token:alice']);
  expect(ats(a.query({ who: 'token:alice' }))).toEqual([at(240), at(0)]);
  expect(a.query({ who: 'token:' }).map((e) => e.who)).toEqual(['token:alice', 'token:alice2', 'token:alice']);
  expect(a.query({ who: 'oauth:bob@example.com' })).toHaveLength(1);
  expect(ats(a.query({ tool: 'exec_program' }))).toEqual([at(240), at(120), at(0)]);
  expect(ats(a.query({ tool: 'exec_program', who: 'alice', limit: 1 }))).toEqual([at(240)]);
  expect(ats(a.query({ limit: 2 }))).toEqual([at(240), at(180)]);
  expect(a.query({ who: 'nobody' })).toEqual([]);
  // Fields come back as recorded, absent ones absent.
  const [last] = a.query({ limit: 1 });
  expect(last).toEqual({
    at: at(240),
    who: 'token:alice',
    via: 'http',
    remote: '127.0.0.1',
    tool: 'exec_program',
    argv: ['bpftrace', '-f', 'json', '-e', 'x'],
    outcome: 'started',
    durationMs: 1234.5,
  });
  expect(a.query({ who: 'carol' })[0]).toEqual({
    at: at(120),
    who: 'stdio:carol',
    via: 'stdio',
    tool: 'exec_program',
    verdict: 'refuse',
    outcome: 'error:policy',
  });
}

describe('the audit log in the run history', () => {
  it('records into the audit table; query filters by since, until, who, tool and limit, newest first', () => {
    const store = openStore();
    const a = audit({ history: () => store });
    fill(a);
    expect(a.where).toBe(`history ${file}`);
    expect(fs.existsSync(path.join(stateDir, AUDIT_FILE))).toBe(false);
    const db = rawDb(file);
    expect(db.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(5);
    db.close();
    checkFilters(a);
    expect(logged).toEqual([]);
  });

  it('entries survive closing and reopening the history, in another process', () => {
    const first = openStore();
    fill(audit({ history: () => first }));
    first.close();
    const lazy = lazyHistory({ enabled: true, stateDir }, (m) => logged.push(m), {});
    const a = audit({ history: lazy });
    checkFilters(a);
    lazy.close();
  });

  it('keeps rows as long as the history keeps runs (--history-max-age): older ones go at first use', () => {
    const now = Date.parse('2026-12-31T00:00:00Z');
    const store = openStore({ retention: { maxAgeDays: 10 } });
    const a = audit({ history: () => store, now: () => now });
    a.record(entry({ at: new Date(now - 11 * 86_400_000).toISOString(), tool: 'old' }));
    a.record(entry({ at: new Date(now - 9 * 86_400_000).toISOString(), tool: 'recent' }));
    expect(a.query().map((e) => e.tool)).toEqual(['recent', 'old']);
    const again = audit({ history: () => store, now: () => now });
    expect(again.query().map((e) => e.tool)).toEqual(['recent']);
  });

  it('the migration adds the table to a history made by the previous schema version, its runs kept', () => {
    fs.mkdirSync(stateDir);
    const v3 = rawDb(file);
    expect(migrate(v3, SCHEMA_VERSION - 1)).toBe(3);
    expect(v3.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'audit'`).pluck().get()).toBe(0);
    v3.close();
    const store = openStore();
    store.begin(meta('exec-old'), record('exec-old'));
    const a = audit({ history: () => store });
    a.record(entry());
    expect(a.query()).toHaveLength(1);
    expect(store.load('exec-old')).toBeDefined();
    const db = rawDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('a history that fails later hands over to audit.jsonl, said once; reading finds both', () => {
    const store = openStore();
    const a = audit({ history: () => store });
    a.record(entry({ at: at(0), tool: 'before' }));
    store.close();
    a.record(entry({ at: at(1), tool: 'after' }));
    a.record(entry({ at: at(2), tool: 'after2' }));
    expect(logged).toEqual([
      expect.stringMatching(/^audit: cannot write to the run history \(the run history .* was closed\); audit entries go to .*audit\.jsonl from now on\.$/),
    ]);
    expect(fs.readFileSync(path.join(stateDir, AUDIT_FILE), 'utf8').trim().split('\n')).toHaveLength(2);
    const reopened = openStore();
    expect(
      audit({ history: () => reopened })
        .query()
        .map((e) => e.tool),
    ).toEqual(['after2', 'after', 'before']);
  });

  it('a history that stopped recording before the first entry sends them to audit.jsonl, and says why', () => {
    const store = openStore();
    store.close();
    const a = audit({ history: () => store });
    a.record(entry());
    expect(a.where).toBe(path.join(stateDir, AUDIT_FILE));
    expect(logged).toEqual([
      expect.stringMatching(/^audit: the run history is not recording \(it was closed\); audit entries go to .*audit\.jsonl instead\.$/),
    ]);
    expect(a.query()).toHaveLength(1);
  });

  it('with the history off (lazyHistory disabled) entries go to audit.jsonl', () => {
    const lazy = lazyHistory({ enabled: false, stateDir }, (m) => logged.push(m), {});
    const a = audit({ history: lazy });
    a.record(entry());
    expect(a.where).toBe(path.join(stateDir, AUDIT_FILE));
    expect(fs.existsSync(file)).toBe(false);
  });

  it('records 10k entries fast enough to be on the path of every call', () => {
    const store = openStore();
    const a = audit({ history: () => store });
    const program = 'kprobe:vfs_read /pid == 1234/ { @bytes[comm] = sum(arg2); }\ninterval:s:5 { exit(); }';
    const n = 10_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      a.record(
        entry({
          at: new Date(T0 + i).toISOString(),
          args: { program, duration: 5, pid: 1234 },
          program,
          argv: ['bpftrace', '-f', 'json', '-e', program],
          verdict: 'allow',
          executionId: `exec-${i}`,
          durationMs: 12,
        }),
      );
    }
    const s = (performance.now() - t) / 1000;
    const jsonl = audit({ stateDir: path.join(dir, 'jsonl') });
    const t2 = performance.now();
    for (let i = 0; i < n; i++) jsonl.record(entry({ at: new Date(T0 + i).toISOString(), args: { program }, program, executionId: `exec-${i}` }));
    const s2 = (performance.now() - t2) / 1000;
    process.stderr.write(`audit: ${Math.round(n / s)} records/s into the history, ${Math.round(n / s2)} records/s into audit.jsonl\n`);
    expect(a.query({ limit: 10_000 })).toHaveLength(n);
    expect(n / s).toBeGreaterThan(2000);
  });
});

describe('the audit log in audit.jsonl', () => {
  const jsonl = () => path.join(stateDir, AUDIT_FILE);

  it('answers the same filters as the history', () => {
    const a = audit();
    fill(a);
    checkFilters(a);
    // One object a line, 'at' first.
    const lines = fs.readFileSync(jsonl(), 'utf8').split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe('');
    expect(lines.slice(0, 5).every((l) => l.startsWith('{"at":"'))).toBe(true);
    // Another process's log reads it back.
    checkFilters(audit());
  });

  it('is created with mode 0600, and a wider existing file is tightened', () => {
    audit().record(entry());
    expect(fs.statSync(jsonl()).mode & 0o777).toBe(0o600);
    fs.chmodSync(jsonl(), 0o644);
    fs.writeFileSync(`${jsonl()}.1`, '', { mode: 0o644 });
    fs.chmodSync(`${jsonl()}.1`, 0o644);
    const a = audit();
    expect(a.where).toBe(jsonl());
    expect(fs.statSync(jsonl()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${jsonl()}.1`).mode & 0o777).toBe(0o600);
    // Widened while a log writes it: the next entry tightens it again.
    fs.chmodSync(jsonl(), 0o666);
    a.record(entry());
    expect(fs.statSync(jsonl()).mode & 0o777).toBe(0o600);
  });

  it('tolerates a torn last line, and the next entry starts on a line of its own', () => {
    const a = audit();
    a.record(entry({ at: at(0), tool: 'one' }));
    fs.appendFileSync(jsonl(), '{"at":"2026-12-07T07:05:00.000Z","who":"tok');
    expect(
      audit()
        .query()
        .map((e) => e.tool),
    ).toEqual(['one']);
    const b = audit();
    b.record(entry({ at: at(10), tool: 'two' }));
    expect(
      audit()
        .query()
        .map((e) => e.tool),
    ).toEqual(['two', 'one']);
    // An entry glued to a torn line by another writer is still found.
    fs.appendFileSync(jsonl(), `{"at":"torn${JSON.stringify(entry({ at: at(20), tool: 'glued' }))}\n`);
    expect(
      audit()
        .query()
        .map((e) => e.tool),
    ).toEqual(['glued', 'two', 'one']);
  });

  it('rotates past its size to audit.jsonl.1, one old generation, and reads both', () => {
    const a = audit({ maxFileBytes: 2000 });
    for (let i = 0; i < 60; i++) a.record(entry({ at: at(i), tool: `t${i}` }));
    const size = (f: string) => fs.statSync(f).size;
    expect(size(jsonl())).toBeLessThanOrEqual(2000);
    expect(size(`${jsonl()}.1`)).toBeLessThanOrEqual(2000);
    expect(fs.readdirSync(stateDir).sort()).toEqual([AUDIT_FILE, `${AUDIT_FILE}.1`]);
    const kept = a.query({ limit: 1000 }).map((e) => e.tool);
    // Newest first, without a gap: what is gone is the oldest generation.
    expect(kept[0]).toBe('t59');
    const first = Number(kept.at(-1)!.slice(1));
    expect(kept).toEqual(Array.from({ length: 60 - first }, (_, i) => `t${59 - i}`));
    expect(first).toBeGreaterThan(0);
    expect(fs.statSync(`${jsonl()}.1`).mode & 0o777).toBe(0o600);
  });

  it('holds entries in memory while the file cannot be written, says so once, and writes them when it can', () => {
    fs.mkdirSync(jsonl(), { recursive: true }); // a directory where the file should be: EISDIR
    const a = audit({ now: () => clock });
    let clock = T0;
    for (let i = 0; i < 5; i++) {
      a.record(entry({ at: at(i), tool: `t${i}` }));
      clock += 2000;
    }
    expect(logged).toEqual([expect.stringMatching(/^audit: cannot write to .*audit\.jsonl \(EISDIR: .*\): make .* writable .*--state-dir.*held in memory/)]);
    fs.rmdirSync(jsonl());
    // Held entries are found before they are written.
    expect(a.query().map((e) => e.tool)).toEqual(['t4', 't3', 't2', 't1', 't0']);
    a.record(entry({ at: at(5), tool: 't5' }));
    expect(logged[1]).toMatch(/^audit: writing to .*audit\.jsonl again; the entries held meanwhile were written\.$/);
    expect(
      audit()
        .query()
        .map((e) => e.tool),
    ).toEqual(['t5', 't4', 't3', 't2', 't1', 't0']);
  });

  it('says at close what it could not write: never lost in silence', () => {
    fs.mkdirSync(jsonl(), { recursive: true });
    const a = audit();
    a.record(entry());
    a.close();
    expect(logged.at(-1)).toMatch(/^audit: 1 entries could not be written and are lost \(cannot write to .*EISDIR/);
  });

  it('record() never throws, whatever it is given', () => {
    const a = audit();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => a.record({ at: 'not a time', who: undefined, tool: 7, outcome: null, args: cyclic, argv: 'x', durationMs: NaN } as never)).not.toThrow();
    const [e] = a.query();
    expect(e).toMatchObject({ who: 'unknown', tool: '7', outcome: 'unknown', args: { a: 1, self: '[circular]' } });
    expect(Number.isFinite(Date.parse(e.at))).toBe(true);
    expect(e).not.toHaveProperty('argv');
    expect(e).not.toHaveProperty('durationMs');
  });
});

describe('redaction', () => {
  it('replaces the values of secret-named keys, at any depth, arrays included', () => {
    const input = {
      program: 'BEGIN { printf("hi\\n"); }',
      password: 'hunter2',
      nested: { apiKey: 'k1', api_key: 'k2', 'API-KEY': 'k3', list: [{ Authorization: 'Basic abc' }, { cookie: 'sid=1' }], keep: 'visible' },
      db: { credentials: { user: 'u', pass: 'p' }, private_key: '-----BEGIN-----', client_secret: 's', passwd: 'x' },
      max_tokens: 100,
      use_token: true,
      token: null,
    };
    expect(redact(input)).toEqual({
      program: 'BEGIN { printf("hi\\n"); }',
      password: '[redacted]',
      nested: {
        apiKey: '[redacted]',
        api_key: '[redacted]',
        'API-KEY': '[redacted]',
        list: [{ Authorization: '[redacted]' }, { cookie: '[redacted]' }],
        keep: 'visible',
      },
      db: { credentials: '[redacted]', private_key: '[redacted]', client_secret: '[redacted]', passwd: '[redacted]' },
      max_tokens: '[redacted]',
      use_token: true,
      token: null,
    });
    // A copy: the caller's value is untouched.
    expect(input.password).toBe('hunter2');
    // Whatever is not a secret stays what it was, null and undefined in arrays included.
    expect(redact([null, undefined, 1n, 'x'])).toEqual([null, undefined, 1n, 'x']);
  });

  it('replaces token shapes inside any string: mcpt_ tokens, Bearer credentials, JWTs', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    expect(redact({ note: `use mcpt_${'a1B2_c3-D4'.repeat(3)} here` })).toEqual({ note: 'use [redacted] here' });
    expect(redact(['Authorization: Bearer abc.DEF-123~+/=', 'bearer xyz'])).toEqual(['Authorization: Bearer [redacted]', 'bearer [redacted]']);
    expect(redact(`id_token=${jwt}; rest`)).toBe('id_token=[redacted]; rest');
    expect(redact(`Bearer ${jwt}`)).toBe('Bearer [redacted]');
    // Short mcpt_ words, a printf format after "Bearer", and base64 that is no JWT stay.
    expect(redact('mcpt_short and printf("Bearer %s", x) and eyJabc')).toBe('mcpt_short and printf("Bearer %s", x) and eyJabc');
  });

  it('keeps a bpftrace program as it is, unless a token shape is in it', () => {
    const program = 'tracepoint:syscalls:sys_enter_openat /comm == "passwd"/ { @token[str(args.filename)] = count(); }';
    const a = audit();
    a.record(entry({ program, args: { program }, argv: ['bpftrace', '-e', program] }));
    const [e] = a.query();
    expect(e.program).toBe(program);
    expect(e.args).toEqual({ program });
    expect(e.argv).toEqual(['bpftrace', '-e', program]);
    a.record(entry({ program: 'BEGIN { printf("Bearer abcdefgh12345\\n"); }' }));
    expect(a.query()[0].program).toBe('BEGIN { printf("[redacted]\\n"); }'.replace('[redacted]', 'Bearer [redacted]'));
  });

  it('argv: the value of a secret-named option too', () => {
    const a = audit();
    a.record(entry({ argv: ['tool', '--token', 'abc', '--api-key=xyz', 'PASSWORD=p', '--pid', '1'] }));
    expect(a.query()[0].argv).toEqual(['tool', '--token', '[redacted]', '--api-key=[redacted]', 'PASSWORD=[redacted]', '--pid', '1']);
  });

  it('bounds what it keeps: strings at 4 KiB, the arguments at 16 KiB of JSON, the program at 64 KiB', () => {
    const a = audit();
    const long = 'x'.repeat(10_000);
    a.record(entry({ args: { filter: long }, program: 'p'.repeat(100_000) }));
    const [e] = a.query();
    expect(e.args!.filter).toBe(`${'x'.repeat(4096)}…[truncated: 10000 bytes in all]`);
    expect(e.program).toBe(`${'p'.repeat(65536)}…[truncated: 100000 bytes in all]`);
    a.record(entry({ args: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, long])) }));
    const many = a.query()[0].args!;
    expect(Buffer.byteLength(JSON.stringify(many))).toBeLessThanOrEqual(16 * 1024);
    expect(many.k0).toMatch(/^x{256}…\[truncated: 10000 bytes in all\]$/);
    a.record(entry({ args: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key${i}`, i])) }));
    const huge = a.query()[0].args!;
    expect(Buffer.byteLength(JSON.stringify(huge))).toBeLessThanOrEqual(16 * 1024);
    expect(huge['[truncated]']).toMatch(/^\d+ of 2000 arguments left out: they were \d+ bytes of JSON, more than the audit keeps \(16 KiB\)$/);
    // A multi-byte character is never cut in half.
    a.record(entry({ args: { s: 'é'.repeat(3000) } }));
    expect(a.query()[0].args!.s).toBe(`${'é'.repeat(2048)}…[truncated: 6000 bytes in all]`);
  });
});

describe('localCaller', () => {
  it('names the OS user', () => {
    expect(localCaller('stdio')).toMatch(/^stdio:\S+$/);
    expect(localCaller('cli')).toMatch(/^cli:\S+$/);
  });
});
