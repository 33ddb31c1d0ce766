import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { lazyHistory } from '../../src/history/open.js';
import { readOutputPage } from '../../src/mcp/output-resource.js';
import { runCli } from '../helpers/cli.js';
import { describeKernel } from '../helpers/kernel.js';
import { startServer, type TestServer } from '../helpers/mcp.js';

// Runs that are remembered, for real: real bpftrace, a real SQLite file, real processes that
// restart, die by SIGKILL and write at once.
const dirs: string[] = [];
const stateDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'mcptrace-history-it-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cores: Core[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
});

const warnings: string[] = [];
function coreAt(dir: string): Core {
  const c = new Core({ history: lazyHistory({ enabled: true, stateDir: dir }, (m) => warnings.push(m)) });
  cores.push(c);
  return c;
}

const MAP_PROGRAM = 'interval:ms:20 { @ticks[comm] = count(); @n++; printf("tick %d\\n", @n); if (@n == 40) { exit(); } }';

const integrity = (file: string): string => {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
};

describeKernel('the run history', () => {
  it('survives a restart: get_result pages, include_maps, list_executions, analyze_output, compare_runs and the output resource read stored runs', async () => {
    const dir = stateDir();
    const a = coreAt(dir);
    const first = (await a.callTool('exec_program', { program: MAP_PROGRAM, wait: true })).structured as any;
    expect(first.status).toBe('completed');
    const second = (await a.callTool('exec_program', { program: MAP_PROGRAM.replace('== 40', '== 20'), wait: true })).structured as any;
    await a.shutdown();
    cores.length = 0;

    const b = coreAt(dir);
    const page = (await b.callTool('get_result', { execution_id: first.execution_id, offset: 5, limit: 3, include_maps: true })).structured as any;
    expect(page.status).toBe('completed');
    // The same lines the run answered before the restart (0.17 prints an attach line first, 0.27 does not).
    expect(page.output).toEqual(first.output.slice(5, 8));
    expect(page.output.every((l: string) => /^tick \d+$/.test(l))).toBe(true);
    expect(page.lines_total).toBe(first.lines_total);
    expect(page.maps['@n'].value).toBe(40);
    const listed = (await b.callTool('list_executions', {})).structured as any;
    expect(listed.executions.map((e: any) => e.execution_id)).toEqual([first.execution_id, second.execution_id]);
    const analysis = await b.callTool('analyze_output', { execution_id: first.execution_id });
    expect(analysis.isError).toBeFalsy();
    expect(analysis.text).toMatch(/40/);
    const compared = await b.callTool('compare_runs', { a: second.execution_id, b: first.execution_id });
    expect(compared.isError).toBeFalsy();
    const uri = `mcptrace://executions/${first.execution_id}/output?offset=0&limit=2`;
    const res = await readOutputPage(b, uri, new URL(uri.replace('mcptrace:', 'http:')), () => new Error('not found') as never);
    expect(res.contents[0]._meta).toMatchObject({ lines_total: first.lines_total, has_more: true });
    // A new run of the restarted process never takes an id the history has.
    const third = (await b.callTool('exec_program', { program: 'BEGIN { exit(); }', wait: true })).structured as any;
    expect([first.execution_id, second.execution_id]).not.toContain(third.execution_id);
    expect(warnings).toEqual([]);
  });

  it('is shared between processes: one CLI runs, others read it, search finds it by program, error and output words', async () => {
    const env = { MCPTRACE_STATE_DIR: stateDir() };
    const run = runCli(['exec', '--json', 'interval:ms:10 { @x++; if (@x == 3) { printf("zebrafish %d\\n", @x); exit(); } }'], { env });
    expect(await run.exited).toBe(0);
    const id = JSON.parse(run.stdout()).execution_id;
    const bad = runCli(['exec', 'BEGIN { @a = nosuchfunction(1); }'], { env });
    expect(await bad.exited).not.toBe(0);

    const result = runCli(['result', id, '--json'], { env });
    expect(await result.exited).toBe(0);
    expect(JSON.parse(result.stdout()).output).toContain('zebrafish 3');
    const ps = runCli(['ps'], { env });
    await ps.exited;
    expect(ps.stdout()).toContain(id);
    for (const [query, extra] of [
      ['zebrafish', []],
      ['interval', []],
      ['nosuchfunction', ['--include-failed']],
    ] as const) {
      const h = runCli(['history', query, ...extra, '--json'], { env });
      expect(await h.exited, h.stderr()).toBe(0);
      const found = JSON.parse(h.stdout());
      expect(found.count, query).toBeGreaterThan(0);
      expect(found.groups[0].runs[0].snippet).toContain(`«${query}»`);
    }
  });

  it('a SIGKILLed server leaves an intact database: every finished run is there and the one it was running is interrupted', async () => {
    const dir = stateDir();
    const s = await startServer(['--state-dir', dir]);
    servers.push(s);
    const done = [];
    for (let i = 0; i < 3; i++)
      done.push((await s.call('exec_program', { program: `BEGIN { printf("done ${i}\\n"); exit(); }`, wait: true })).structuredContent.execution_id);
    // A write load: a line every millisecond, batched to the database once a second.
    const live = (await s.call('exec_program', { program: 'interval:ms:1 { @n++; printf("line %d\\n", @n); }', timeout: 60 })).structuredContent.execution_id;
    await new Promise((r) => setTimeout(r, 2500));
    const pid = (s.transport as any)._process.pid as number;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(integrity(path.join(dir, 'history.db'))).toBe('ok');

    const again = await startServer(['--state-dir', dir]);
    servers.push(again);
    for (const id of done) expect((await again.call('get_result', { execution_id: id })).structuredContent.status).toBe('completed');
    const r = (await again.call('get_result', { execution_id: live, limit: 1 })).structuredContent;
    expect(r.status).toBe('interrupted');
    // At most about a second of its output is lost: it ran 2.5 s at a line a millisecond.
    expect(r.lines_total).toBeGreaterThan(500);
    expect(r.error_message).toMatch(/ended|interrupted|killed/i);
  });

  it('a server and two CLI processes write at once: every run is recorded and no SQLITE_BUSY reaches anyone', async () => {
    const dir = stateDir();
    const s = await startServer(['--state-dir', dir]);
    servers.push(s);
    const prog = (n: number) => `interval:ms:1 { @n++; printf("w${n} %d\\n", @n); if (@n == 1500) { exit(); } }`;
    const clis = [1, 2].map((n) => runCli(['exec', '--json', prog(n)], { env: { MCPTRACE_STATE_DIR: dir } }));
    const served = await Promise.all([3, 4].map((n) => s.call('exec_program', { program: prog(n), wait: true })));
    const codes = await Promise.all(clis.map((c) => c.exited));
    expect(codes).toEqual([0, 0]);
    for (const c of clis) expect(c.stderr()).not.toMatch(/SQLITE|busy|locked/i);
    expect(s.stderr()).not.toMatch(/SQLITE|busy|locked/i);
    const ids = [...clis.map((c) => JSON.parse(c.stdout()).execution_id), ...served.map((r) => r.structuredContent.execution_id)];
    const listed = (await s.call('list_executions', {})).structuredContent.executions.map((e: any) => e.execution_id);
    for (const id of ids) expect(listed).toContain(id);
    for (const id of ids) expect((await s.call('get_result', { execution_id: id, limit: 1 })).structuredContent.lines_total).toBeGreaterThanOrEqual(1500);
    expect(integrity(path.join(dir, 'history.db'))).toBe('ok');
  });

  it('a full disk: the trace goes on in memory with a clear warning, and earlier runs stay readable', async () => {
    const dir = stateDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    try {
      const c = coreAt(dir);
      const early = (await c.callTool('exec_program', { program: 'BEGIN { printf("early\\n"); exit(); }', wait: true })).structured as any;
      const big = (
        await c.callTool('exec_program', {
          program:
            'interval:ms:1 { @n++; printf("%s %s %d\\n", "x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x", "y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y", @n); if (@n == 3000) { exit(); } }',
          wait: true,
          max_lines: 100000,
        })
      ).structured as any;
      expect(big.status, big.error_message).toBe('completed');
      expect(big.lines_total).toBeGreaterThanOrEqual(3000);
      const again = (await c.callTool('get_result', { execution_id: big.execution_id, limit: 1 })).structured as any;
      expect(JSON.stringify(again.warnings ?? again)).toMatch(/history did not record all of this run.*(full|space)/i);
      expect(((await c.callTool('get_result', { execution_id: early.execution_id })).structured as any).output).toContain('early');
      await c.shutdown();
      cores.length = 0;
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });

  it('sessions over MCP: save, export, import edited, run again under the policy', async () => {
    const s = await startServer(['--state-dir', stateDir()]);
    servers.push(s);
    const a = (await s.call('exec_program', { program: 'BEGIN { printf("one\\n"); exit(); }', wait: true })).structuredContent.execution_id;
    const b = (await s.call('exec_program', { program: 'BEGIN { printf("two\\n"); exit(); }', wait: true })).structuredContent.execution_id;
    const saved = await s.call('save_session', { name: 'pair', execution_ids: [a, b], description: 'two greetings' });
    expect(saved.isError).toBeFalsy();
    const yaml = (await s.call('export_session', { name: 'pair' })).structuredContent.yaml as string;
    expect(yaml).toContain('tool: exec_program');
    const edited = yaml
      .replace('name: pair', 'name: pair-edited')
      .replace('printf("two\\n")', 'printf("three\\n")')
      .replace(/printf\("one\\n"\); exit\(\);/, 'system("id"); exit();');
    const imported = await s.call('import_session', { yaml: edited });
    expect(imported.isError, JSON.stringify(imported.content)).toBeFalsy();
    const ran = (await s.call('run_session', { name: 'pair-edited', wait: true })).structuredContent;
    expect(ran.count).toBe(2);
    // The edited first call asks for system(): the policy refuses it as it would any call.
    expect(ran.refused).toBe(1);
    const three = ran.runs.find((r: any) => r.execution_id);
    expect(three.status).toBe('completed');
    expect((await s.call('get_result', { execution_id: three.execution_id })).structuredContent.output).toContain('three');
    const listed = (await s.call('list_sessions', {})).structuredContent.sessions.map((x: any) => x.name);
    expect(listed.sort()).toEqual(['pair', 'pair-edited']);
  });

  it('sessions and pruning in the CLI: save, list, show, export, import an edited file, run, delete, prune', async () => {
    const env = { MCPTRACE_STATE_DIR: stateDir() };
    const cli = async (args: string[], code = 0) => {
      const r = runCli(args, { env });
      expect(await r.exited, `${args.join(' ')}: ${r.stderr()}`).toBe(code);
      return r;
    };
    await cli(['exec', 'BEGIN { printf("alpha\\n"); exit(); }']);
    await cli(['exec', 'BEGIN { printf("beta\\n"); exit(); }']);
    expect((await cli(['session', 'save', 'greet', '--last', '2', '--description', 'two greetings'])).stdout()).toContain(
      'saved session greet — two greetings: 2 calls',
    );
    expect((await cli(['session', 'list'])).stdout()).toMatch(/^greet\s+2 calls/m);
    expect((await cli(['session', 'show', 'greet'])).stdout()).toContain('alpha');
    const file = path.join(env.MCPTRACE_STATE_DIR, 'greet.yaml');
    const yaml = (await cli(['session', 'export', 'greet'])).stdout();
    expect(yaml).toContain('tool: exec_program');
    writeFileSync(file, yaml.replace('name: greet', 'name: greet-2').replace('alpha', 'gamma'));
    expect((await cli(['session', 'import', file])).stdout()).toContain('imported session greet-2');
    // The same name again without --replace: refused, with how to fix it.
    expect((await cli(['session', 'import', file], 2)).stderr()).toMatch(/greet-2.*replace/i);
    const ran = await cli(['session', 'run', 'greet-2', '--wait', '--json']);
    const runs = JSON.parse(ran.stdout()).runs;
    expect(runs.map((r: any) => r.status)).toEqual(['completed', 'completed']);
    expect(JSON.parse((await cli(['result', runs[0].execution_id, '--json'])).stdout()).output).toContain('gamma');
    expect((await cli(['history', 'gamma', '--json'])).stdout()).toContain('"session": "greet-2"');
    await cli(['session', 'delete', 'greet']);
    expect((await cli(['session', 'show', 'greet'], 2)).stderr()).toContain('no session "greet"');
    const pruned = JSON.parse((await cli(['history', 'prune', '--history-max-runs', '1', '--json'])).stdout());
    expect(pruned).toMatchObject({ deleted: 3, runs_after: 1 });
  });

  it("another process's running run: get_result waits on it through the history, and stop_execution stops it with its maps", async () => {
    const dir = stateDir();
    const cli = runCli(['exec', 'interval:ms:10 { @ticks = count(); printf("tick\\n"); }'], { env: { MCPTRACE_STATE_DIR: dir } });
    const c = coreAt(dir);
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const listed = (await c.callTool('list_executions', { status: 'running' })).structured as any;
      id = listed.executions.find((e: any) => e.tool === 'exec_program')?.execution_id;
    }
    expect(id, 'the CLI run never showed as running in the history').toBeDefined();
    // Lines reach the history a batch a second: a long-poll returns once there are more than 5.
    const polled = (await c.callTool('get_result', { execution_id: id, offset: 5, wait: 10 })).structured as any;
    expect(polled.status).toBe('running');
    expect(polled.lines_total).toBeGreaterThan(5);
    const stopped = (await c.callTool('stop_execution', { execution_id: id, wait: 30, include_maps: true })).structured as any;
    // The tracer got a SIGINT from outside its process: a normal end, with the maps printed.
    expect(stopped.status).toBe('completed');
    expect(stopped.maps['@ticks'].value).toBeGreaterThan(5);
    expect(await cli.exited).toBe(0);
  });
});
