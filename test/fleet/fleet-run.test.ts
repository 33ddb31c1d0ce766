import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import type { ExecutionResult } from '../../src/results/execution-view.js';
import type { CallContext } from '../../src/results/tool-result.js';
import { runCli } from '../helpers/cli.js';
import { withServer } from '../helpers/mcp.js';
import { kernel, pidsWith, waitFor } from '../helpers/kernel.js';
import { expectConforms } from '../helpers/output-schema.js';

/**
 * Fleet runs end to end: every runnable kind on real sshd hosts of this machine
 * (scripts/fleet-hosts.sh), each running its own bpftrace (host2 runs 0.27 from the Debian root,
 * the others 0.17), over MCP's path (Core.callTool with a stdio caller) and the CLI. Failures
 * (an unreachable host, a compile that fails on one host, a connection cut mid-run) leave the
 * other hosts' results whole, and no tracer behind.
 */

const REPO = path.resolve(__dirname, '../..');
const DIR = `/tmp/mcptrace-fleet-run-${process.pid}`;
const INVENTORY = `${DIR}/inventory.ini`;
const N = 20;
const SID = existsSync('/srv/mcptrace-roots/bin/bpftrace-sid');
const mcp: CallContext = { caller: { who: 'stdio:test', via: 'stdio' } };

const sshd = existsSync('/usr/sbin/sshd');
if (!sshd) {
  if (process.env.CI === 'true') throw new Error('fleet runs are tested against real sshd hosts: apt-get install -y openssh-server (.ci/run does)');
  process.stderr.write('\n!!! SKIPPING the fleet run tests: /usr/sbin/sshd is missing (apt-get install -y openssh-server)\n\n');
}

let core: Core;
const view = (r: { structured: unknown }) => r.structured as ExecutionResult;

describe.skipIf(!kernel.ok || !sshd)('fleet runs on real SSH hosts', () => {
  beforeAll(() => {
    execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'start', String(N), DIR], { stdio: 'pipe', timeout: 120_000 });
    // The script's inventory ([fleet]: host1..host20 and their ssh settings), plus groups of ours.
    appendFileSync(
      INVENTORY,
      ['', '[three]', 'host1', 'host2', 'host3', '[mixed]', 'host2', 'host3', 'gone ansible_host=127.0.0.99 ansible_port=2222', ''].join('\n'),
    );
    core = new Core({ inventory: INVENTORY, runner: { graceMs: 10_000 } });
  }, 150_000);
  afterAll(async () => {
    await core?.shutdown();
    execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'stop', DIR], { stdio: 'pipe' });
  });

  it('exec_program on a group of 3: every line labelled, maps merged across hosts, each host with its own bpftrace version and run', async () => {
    const r = await core.callTool(
      'exec_program',
      {
        program: 'BEGIN { @calls[1] = count(); @calls[2] = count(); @calls[2] = count(); @top = max(7); printf("hello\\n"); exit(); }',
        hosts: ['three'],
        wait: true,
        include_maps: true,
      },
      mcp,
    );
    expectConforms(core, 'exec_program', r);
    const v = view(r);
    expect(v.execution_id).toMatch(/^fleet-/);
    expect(v.status, JSON.stringify(v, null, 1)).toBe('completed');
    expect(v.hosts?.map((h) => [h.host, h.status])).toEqual([
      ['host1', 'completed'],
      ['host2', 'completed'],
      ['host3', 'completed'],
    ]);
    const local = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
    expect(v.hosts?.find((h) => h.host === 'host1')?.bpftrace_version).toBe(local);
    if (SID) expect(v.hosts?.find((h) => h.host === 'host2')?.bpftrace_version).toMatch(/^bpftrace v0\.27/);
    for (const l of v.output) expect(l).toMatch(/^\[(host[123]|merged)\] /);
    for (const h of ['host1', 'host2', 'host3']) expect(v.output).toContain(`[${h}] hello`);
    // count() adds up across hosts, max() keeps the largest.
    expect(v.maps?.['@calls'].value).toEqual({ '1': 3, '2': 6 });
    expect(v.maps?.['@top'].value).toBe(7);
    expect(v.output).toContain('[merged] @calls[2]: 6');
    // Each host's own run, by host: its lines unlabelled, as that bpftrace printed them.
    const one = await core.callTool('get_result', { execution_id: v.execution_id, host: 'host2', include_maps: true }, mcp);
    const h2 = view(one);
    expect(h2.host).toBe('host2');
    expect(h2.output).toContain('hello');
    expect(h2.maps?.['@calls'].value).toEqual({ '1': 1, '2': 2 });
    expectConforms(core, 'get_result', one);
  }, 90_000);

  it('a template tool and a bcc tool run on every host, rows labelled with a HOST column', async () => {
    const t = view(await core.callTool('count_syscalls', { duration: 1, hosts: ['host1', 'host2'], wait: true, include_maps: true }, mcp));
    expect(t.status, JSON.stringify(t, null, 1)).toBe('completed');
    expect(t.hosts?.every((h) => h.status === 'completed')).toBe(true);
    expect(Object.keys(t.maps ?? {}).length).toBeGreaterThan(0);
    const b = view(await core.callTool('execsnoop', { duration: 2, hosts: ['host1', 'host3'], wait: true }, mcp));
    expect(b.status, JSON.stringify(b, null, 1)).toBe('completed');
    expect(b.columns?.[0]).toEqual({ name: 'HOST', type: 'string' });
    expect(b.hosts?.map((h) => h.status)).toEqual(['completed', 'completed']);
    expect(b.output.some((l) => l.startsWith('[host1] ')) && b.output.some((l) => l.startsWith('[host3] '))).toBe(true);
  }, 90_000);

  it('one host unreachable and one failing to compile: the others run and their results are whole', async () => {
    // A for loop over a map exists from bpftrace 0.21: host2 (0.27) runs it, host3 (0.17) cannot compile it.
    const program = 'BEGIN { @m[1] = 5; for ($kv : @m) { printf("k=%d\\n", $kv.0); } @done = count(); exit(); }';
    const r = await core.callTool('exec_program', { program, hosts: ['mixed'], wait: true, include_maps: true }, mcp);
    const v = view(r);
    expectConforms(core, 'exec_program', r);
    const by = Object.fromEntries((v.hosts ?? []).map((h) => [h.host, h]));
    expect(by.gone.status).toBe('failed');
    expect(by.gone.error).toMatch(/unreachable over SSH .*Connection refused/);
    expect(by.gone.hint).toMatch(/sshd listens on port 2222/);
    expect(by.gone.execution_id).toBeUndefined();
    if (!SID) return;
    expect(by.host3.status).toBe('failed');
    expect(by.host3.error).toMatch(/exit code 1/);
    expect(by.host2.status).toBe('completed');
    expect(v.status).toBe('completed');
    expect(v.output).toContain('[host2] k=1');
    expect(v.maps?.['@done'].value).toBe(1);
    expect(v.warnings.join('\n')).toMatch(/2 of 3 hosts failed, the others' results are complete/);
    // The failed host's compile errors are located, as a local run's are.
    const h3 = view(await core.callTool('get_result', { execution_id: v.execution_id, host: 'host3' }, mcp));
    expect(h3.errors?.[0]?.line).toBe(1);
  }, 90_000);

  it('a connection cut mid-run fails that host alone; a stop brings back every other host’s maps; no tracer is left', async () => {
    const marker = `cut_${process.pid}`;
    const r = await core.callTool('exec_program', { program: `tracepoint:sched:sched_switch { @${marker} = count(); }`, hosts: ['three'], timeout: 60 }, mcp);
    const id = view(r).execution_id;
    const fleet = core.runner.fleet(id)!;
    expect(await waitFor(() => fleet.runs.length === 3 && fleet.runs.every((e) => e.attachedAt !== undefined), 30_000)).toBe(true);
    expect(pidsWith(marker).length).toBeGreaterThanOrEqual(3);
    // The network goes: host1's ssh dies without a word to anyone.
    process.kill(fleet.member('host1')!.pid!, 'SIGKILL');
    expect(await waitFor(() => fleet.member('host1')!.finished, 15_000)).toBe(true);
    expect(fleet.member('host2')!.finished).toBe(false);
    const stopped = await core.callTool('stop_execution', { execution_id: id, wait: 60 }, mcp);
    const v = view(stopped);
    expect(v.status).toBe('stopped');
    const by = Object.fromEntries((v.hosts ?? []).map((h) => [h.host, h]));
    expect(by.host1.status).toBe('failed');
    expect(by.host2.status).toBe('stopped');
    expect(by.host3.status).toBe('stopped');
    const h2 = view(await core.callTool('get_result', { execution_id: id, host: 'host2', include_maps: true }, mcp));
    expect(h2.maps?.[`@${marker}`]?.value).toBeGreaterThan(0);
    expect(await waitFor(() => pidsWith(marker).length === 0, 20_000), `left: ${pidsWith(marker).join(',')}`).toBe(true);
  }, 120_000);

  it('analyze_output reads a fleet run with its stacks merged (samples add up), and each host’s run apart; the flame graph is of the merged stacks', async () => {
    const v = view(
      await core.callTool('exec_program', { program: 'profile:hz:49 { @[kstack(4)] = count(); }', hosts: ['host1', 'host2'], timeout: 2, wait: true }, mcp),
    );
    expect(v.hosts?.map((h) => h.status)).toEqual(['timed_out', 'timed_out']);
    const samples = async (id: string) => {
      const a = await core.callTool('analyze_output', { execution_id: id, png: false }, mcp);
      expectConforms(core, 'analyze_output', a);
      return { a, n: (a.structured as { stacks: { samples: number }[] }).stacks[0].samples };
    };
    const fleet = await samples(v.execution_id);
    const perHost = await Promise.all((v.hosts ?? []).map((h) => samples(h.execution_id!)));
    // The same host's run, named by the fleet run and the host.
    const byName = await core.callTool('analyze_output', { execution_id: v.execution_id, host: 'host2', png: false }, mcp);
    expect((byName.structured as { stacks: { samples: number }[] }).stacks[0].samples).toBe(perHost[1].n);
    expect(perHost.every((p) => p.n > 0)).toBe(true);
    expect(fleet.n).toBe(perHost[0].n + perHost[1].n);
    // The labelled map lines are map prints, not printf events.
    expect((fleet.a.structured as { events: unknown }).events).toBeNull();
    expect(fleet.a.attachments?.some((x) => x.mimeType === 'image/svg+xml')).toBe(true);
  }, 60_000);

  it(`a fan-out to ${N} hosts: every host's lines labelled, the merged count is ${N}`, async () => {
    const r = await core.callTool(
      'exec_program',
      { program: 'BEGIN { @hosts = count(); printf("up\\n"); exit(); }', hosts: ['fleet'], wait: true, include_maps: true, timeout: 120 },
      mcp,
    );
    const v = view(r);
    expect(v.status, JSON.stringify(v.hosts)).toBe('completed');
    expect(v.hosts).toHaveLength(N);
    expect(v.hosts?.every((h) => h.status === 'completed')).toBe(true);
    for (let i = 1; i <= N; i++) expect(v.output).toContain(`[host${i}] up`);
    expect(v.maps?.['@hosts'].value).toBe(N);
  }, 180_000);

  it('every runnable tool renders for a remote host: a dry run with hosts probes it and shows that host’s argv, or says why that host cannot run it', async () => {
    const runnable = core.tools.filter((t) => t.kind.runnable);
    expect(runnable.length).toBeGreaterThan(30);
    const outcomes: string[] = [];
    for (const t of runnable) {
      // funclatency's manifest has no example: a libc function every host has.
      const needs = t.def.name === 'funclatency' ? { function: '/lib/x86_64-linux-gnu/libc.so.6:getpwnam' } : {};
      const input = { ...needs, ...(t.def.examples?.[0]?.input ?? {}), hosts: ['host1'], dry_run: true };
      const r = await core.callTool(t.def.name, input, mcp);
      const s = r.structured as { dry_run?: boolean; hosts?: { host: string; argv?: string[] }[] };
      if (r.isError) {
        // Only what the host lacks may stop a tool here (this kernel has no kprobes), said for that host.
        expect(r.errorKind, `${t.def.name}: ${r.text}`).toBe('environment');
        expect(r.text, t.def.name).toMatch(/host1/);
        outcomes.push(`${t.def.name}: cannot`);
        continue;
      }
      expect(s.dry_run, t.def.name).toBe(true);
      expect(s.hosts?.[0]?.host, t.def.name).toBe('host1');
      expect(s.hosts?.[0]?.argv?.length, t.def.name).toBeGreaterThan(0);
      outcomes.push(`${t.def.name}: ok`);
    }
    // Most run on this kernel; the few that need kprobes say so.
    expect(outcomes.filter((o) => o.endsWith('ok')).length, outcomes.join('\n')).toBeGreaterThan(runnable.length * 0.7);
  }, 120_000);

  it('a program the safety policy refuses is refused for the fleet as for one machine, and nothing starts', async () => {
    const before = core.runner.list().length;
    const r = await core.callTool('exec_program', { program: 'kprobe:do_sys_open { signal("KILL"); }', hosts: ['three'] }, mcp);
    expect(r.isError).toBe(true);
    expect(r.errorKind).toBe('policy');
    expect(core.runner.list().length).toBe(before);
  }, 60_000);

  it('over MCP only the inventory’s hosts can be named; an unknown name gets the closest ones', async () => {
    const outside = await core.callTool('exec_program', { program: 'BEGIN { exit(); }', hosts: ['root@127.0.0.11:2222'] }, mcp);
    expect(outside.isError).toBe(true);
    expect(outside.errorKind).toBe('policy');
    expect(outside.text).toMatch(/not in the inventory .*operator listed/);
    const typo = await core.callTool('exec_program', { program: 'BEGIN { exit(); }', hosts: ['thre'] }, mcp);
    expect(typo.isError).toBe(true);
    expect(typo.text).toMatch(/The closest: three/);
  });

  it('the CLI: --hosts with --inventory streams labelled lines, and another process reads one host’s run from the history', async () => {
    const run = runCli(['exec', 'BEGIN { printf("from %s\\n", "cli"); @n = count(); exit(); }', '--hosts', 'host1,host2', '--inventory', INVENTORY, '--json']);
    expect(await run.exited, run.stderr()).toBe(0);
    const v = JSON.parse(run.stdout()) as ExecutionResult;
    expect(v.output).toEqual(expect.arrayContaining(['[host1] from cli', '[host2] from cli', '[merged] @n: 2']));
    const again = runCli(['get_result', v.execution_id, '--host', 'host2', '--json']);
    expect(await again.exited, again.stderr()).toBe(0);
    const h2 = JSON.parse(again.stdout()) as ExecutionResult;
    expect(h2.host).toBe('host2');
    expect(h2.output).toContain('from cli');
    // What a person sees: the lines as they come on stdout, each host's status and version after them.
    const text = runCli(['exec', 'BEGIN { printf("x\\n"); exit(); }', '--hosts', 'three', '--inventory', INVENTORY]);
    expect(await text.exited, text.stderr()).toBe(0);
    expect(text.stdout()).toContain('[host3] x\n');
    expect(text.stderr()).toMatch(/-- host1: completed \(bpftrace v0\.\d+\.\d+, exec-/);
    expect(readFileSync(INVENTORY, 'utf8')).toContain('[three]');
  }, 90_000);

  it('over a real MCP connection: every runnable tool lists hosts; a call with hosts returns the fleet run and get_result pages it', async () => {
    await withServer({ args: ['--inventory', INVENTORY, '--toolsets', 'all'] }, async (s) => {
      const { tools } = await s.client.listTools();
      const runnable = tools.filter((t) => t.inputSchema.properties && 'dry_run' in t.inputSchema.properties);
      expect(runnable.length).toBeGreaterThan(20);
      for (const t of runnable) expect(Object.keys(t.inputSchema.properties ?? {}), t.name).toEqual(expect.arrayContaining(['hosts', 'target']));
      const r = await s.call('exec_program', { program: 'BEGIN { @n = count(); exit(); }', hosts: ['host1', 'host3'] });
      const id = r.structuredContent.execution_id as string;
      expect(id).toMatch(/^fleet-/);
      // Long-polling as a client does: past the lines it has, until the run ends.
      let v = (await s.call('get_result', { execution_id: id, wait: 30, include_maps: true })).structuredContent as ExecutionResult;
      for (let i = 0; i < 20 && v.status === 'running'; i++)
        v = (await s.call('get_result', { execution_id: id, offset: v.lines_total, wait: 5, include_maps: true })).structuredContent;
      expect(v.status).toBe('completed');
      expect(v.maps?.['@n'].value).toBe(2);
      expect(v.hosts?.map((h) => h.host)).toEqual(['host1', 'host3']);
      // A dry run probes the hosts and shows each one's argv, running nothing.
      const dry = await s.call('exec_program', { program: 'BEGIN { exit(); }', hosts: ['three'], dry_run: true });
      expect(dry.structuredContent.dry_run).toBe(true);
      expect(dry.structuredContent.hosts.map((h: { host: string }) => h.host)).toEqual(['host1', 'host2', 'host3']);
    });
  }, 90_000);
});
