import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Audit, renderAudit } from '../../src/cli/commands/audit.js';
import { AUDIT_FILE, openAudit, type AuditEntry } from '../../src/history/audit.js';
import { HistoryStore } from '../../src/history/store.js';
import { REPO } from '../helpers/mcp.js';

// In-process, from src: `mcptrace audit` is registered by the command list (src/cli/commands.ts),
// and a spawned CLI would run dist, which may lag behind src while the server is being changed.

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcptrace-audit-cli-'));
  process.exitCode = 0;
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the command, returning what it printed and its exit code. */
async function run(argv: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await Audit.run(argv, REPO);
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, stderr, code };
}

const now = Date.now();
const ago = (min: number) => new Date(now - min * 60_000).toISOString();

const program = 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\ninterval:s:5 { exit(); }';
const ENTRIES: AuditEntry[] = [
  { at: ago(3 * 24 * 60), who: 'stdio:carol', via: 'stdio', tool: 'list_probes', args: { pattern: 'vfs_*' }, outcome: 'ok', durationMs: 40 },
  {
    at: ago(90),
    who: 'token:alice',
    via: 'http',
    remote: '127.0.0.1',
    tool: 'exec_program',
    args: { program, api_key: 'k' },
    program,
    verdict: 'allow',
    outcome: 'ok',
    executionId: 'exec-1abcd',
    durationMs: 1234,
  },
  {
    at: ago(5),
    who: 'oauth:bob',
    via: 'http',
    remote: '10.0.0.7',
    tool: 'bcc_tool',
    argv: ['opensnoop', '-d', '5'],
    verdict: 'refuse',
    outcome: 'error:policy',
  },
];

function record(stateDir: string, history?: HistoryStore): void {
  const a = openAudit({ stateDir, history: history && (() => history), log: () => {} });
  for (const e of ENTRIES) a.record(e);
  a.close();
}

describe('mcptrace audit', () => {
  it('lists calls from the history, newest first, one line each with what ran under it', async () => {
    const stateDir = path.join(dir, 'state');
    const { store } = HistoryStore.open(path.join(stateDir, 'history.db'));
    record(stateDir, store);
    store.close();
    const r = await run(['--state-dir', stateDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = (m: number) => ago(m).slice(0, 19).replace('T', ' ');
    expect(r.stdout).toBe(
      [
        `${t(5)}  oauth:bob    http 10.0.0.7   bcc_tool      refuse  error:policy  -`,
        `    opensnoop -d 5`,
        `${t(90)}  token:alice  http 127.0.0.1  exec_program  allow   ok            exec-1abcd  1.2 s`,
        `    tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }  (+1 line)`,
        `${t(3 * 24 * 60)}  stdio:carol  stdio           list_probes   -       ok            -           40 ms`,
        `    {"pattern":"vfs_*"}`,
        '',
      ].join('\n'),
    );
  });

  it('filters by --since, --until, --who, --tool and --limit; --json prints the entries', async () => {
    const stateDir = path.join(dir, 'state');
    const { store } = HistoryStore.open(path.join(stateDir, 'history.db'));
    record(stateDir, store);
    store.close();
    const tools = async (...argv: string[]) =>
      (JSON.parse((await run(['--state-dir', stateDir, '--json', ...argv])).stdout) as AuditEntry[]).map((e) => e.tool);
    expect(await tools()).toEqual(['bcc_tool', 'exec_program', 'list_probes']);
    expect(await tools('--since', '24h')).toEqual(['bcc_tool', 'exec_program']);
    expect(await tools('--until', '1h')).toEqual(['exec_program', 'list_probes']);
    expect(await tools('--who', 'ALICE')).toEqual(['exec_program']);
    expect(await tools('--who', 'token:')).toEqual(['exec_program']);
    expect(await tools('--tool', 'list_probes')).toEqual(['list_probes']);
    expect(await tools('--limit', '1')).toEqual(['bcc_tool']);
    const [, alice] = JSON.parse((await run(['--state-dir', stateDir, '--json'])).stdout) as AuditEntry[];
    expect(alice).toEqual({ ...ENTRIES[1], args: { program, api_key: '[redacted]' } });
  });

  it('with --no-history reads audit.jsonl', async () => {
    const stateDir = path.join(dir, 'state');
    record(stateDir);
    const r = await run(['--state-dir', stateDir, '--no-history', '--who', 'carol']);
    expect(r.stdout).toBe(
      `${ago(3 * 24 * 60)
        .slice(0, 19)
        .replace('T', ' ')}  stdio:carol  stdio  list_probes  -  ok  -  40 ms\n    {"pattern":"vfs_*"}\n`,
    );
    expect(fs.existsSync(path.join(stateDir, 'history.db'))).toBe(false);
  });

  it('reading the history also finds what was written to audit.jsonl while it was off', async () => {
    const stateDir = path.join(dir, 'state');
    record(stateDir);
    const r = await run(['--state-dir', stateDir, '--json']);
    expect((JSON.parse(r.stdout) as AuditEntry[]).map((e) => e.tool)).toEqual(['bcc_tool', 'exec_program', 'list_probes']);
  });

  it('says so when nothing matches, and where it looked', async () => {
    const stateDir = path.join(dir, 'state');
    let r = await run(['--state-dir', stateDir, '--no-history']);
    expect(r).toEqual({ stdout: `No audit entries in ${path.join(stateDir, AUDIT_FILE)}.\n`, stderr: '', code: 0 });
    record(stateDir);
    r = await run(['--state-dir', stateDir, '--who', 'mallory', '--since', 'today']);
    expect(r.stdout).toBe(
      `No audit entries matching --who mallory --since today in history ${path.join(stateDir, 'history.db')} or ${path.join(stateDir, AUDIT_FILE)}.\n`,
    );
    expect((await run(['--state-dir', stateDir, '--json', '--who', 'mallory'])).stdout).toBe('[]\n');
  });

  it('a time it cannot read is an input error that shows the forms it takes', async () => {
    const r = await run(['--state-dir', dir, '--since', 'last week']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'Error: --since "last week" is not a time: give an ISO date or time (2026-12-06, 2026-12-06T10:00), a time ago (90m, 24h, 7d, 2w), today or yesterday\n',
    );
    expect(r.stdout).toBe('');
  });

  it('a log it cannot read is an environment error that says where and how to fix it', async () => {
    const stateDir = path.join(dir, 'state');
    fs.mkdirSync(path.join(stateDir, AUDIT_FILE), { recursive: true });
    const r = await run(['--state-dir', stateDir, '--no-history']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^Error: cannot read the audit log .*audit\.jsonl \(EISDIR: .*\): make it readable by this user .*--state-dir/);
  });
});

describe('renderAudit', () => {
  it('shows a program by its first line, argv quoted where needed, and no detail line when there is nothing to show', () => {
    const base: AuditEntry = { at: '2026-12-07T07:12:03.000Z', who: 'token:alice', via: 'http', remote: '127.0.0.1', tool: 'exec_program', outcome: 'ok' };
    expect(renderAudit([{ ...base, program: '\n  BEGIN { exit(); }\n' }])).toBe(
      '2026-12-07 07:12:03  token:alice  http 127.0.0.1  exec_program  -  ok  -\n    BEGIN { exit(); }',
    );
    expect(renderAudit([{ ...base, argv: ['bpftrace', '-e', 'BEGIN { exit(); }'] }]).split('\n')[1]).toBe('    bpftrace -e "BEGIN { exit(); }"');
    expect(renderAudit([{ ...base, tool: 'list_tools', args: {} }])).toBe('2026-12-07 07:12:03  token:alice  http 127.0.0.1  list_tools  -  ok  -');
  });
});
