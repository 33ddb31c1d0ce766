import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { lazyHistory } from '../../src/history/open.js';
import type { Caller } from '../../src/results/tool-result.js';

// run_session replays saved calls through callTool on the caller's behalf. The HTTP layer checks
// the scope of the run_session message (trace:run), never of the calls it replays: the core must
// hold the replayed calls to the same caller, or a trace:run token could import a session with
// unsafe: true and run it past the trace:admin check.

const SESSION = [
  'name: escalate',
  'calls:',
  '  - tool: exec_program',
  '    input:',
  '      program: BEGIN { system("id"); exit(); }',
  '      unsafe: true',
  '      dry_run: true',
].join('\n');

describe('run_session on behalf of a caller', () => {
  const core = new Core({
    env: { HOME: '/nonexistent' },
    policy: { level: 'permissive' },
    history: lazyHistory({ enabled: true, stateDir: mkdtempSync(path.join(tmpdir(), 'mcptrace-run-session-')) }, () => undefined),
  });
  afterAll(() => core.shutdown());
  const runner: Caller = { who: 'token:runner', via: 'http', admin: false };
  const admin: Caller = { who: 'token:ops', via: 'http', admin: true };

  it('refuses a replayed call the caller could not make itself', async () => {
    const imported = await core.callTool('import_session', { yaml: SESSION }, { caller: runner });
    expect(imported.isError, imported.text).toBeFalsy();
    const r = await core.callTool('run_session', { name: 'escalate', wait: true }, { caller: runner });
    const runs = (r.structured as { runs: { status: string; error?: string }[] }).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('refused');
    expect(runs[0].error).toMatch(/needs the trace:admin scope, and token:runner does not have it/);
  });

  it('replays it for a caller who holds trace:admin', async () => {
    const r = await core.callTool('run_session', { name: 'escalate', wait: true }, { caller: admin });
    const runs = (r.structured as { runs: { status: string; error?: string }[] }).runs;
    expect(runs[0].error ?? '').not.toMatch(/trace:admin/);
    expect(runs[0].status).not.toBe('refused');
  });
});
