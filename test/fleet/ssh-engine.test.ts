import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetHost } from '../../src/runtime/fleet/inventory.js';
import { startRemote, type RemoteRun } from '../../src/runtime/fleet/ssh.js';
import { kernel, pidsWith, waitFor } from '../helpers/kernel.js';

/**
 * The SSH engine against real sshd hosts on this machine (scripts/fleet-hosts.sh), running the
 * real bpftrace on each: no mcptrace on the host, nothing of the call in a shell string, a stop
 * that brings the maps back, and no tracer left when the connection is cut.
 */

const REPO = path.resolve(__dirname, '../..');
const DIR = `/tmp/mcptrace-fleet-test-${process.pid}`;
const N = 3;

const host = (i: number): FleetHost => ({
  name: `host${i}`,
  address: `127.0.0.${10 + i}`,
  port: 2222,
  user: 'root',
  identityFile: `${DIR}/key`,
  sshArgs: ['-o', `UserKnownHostsFile=${DIR}/known_hosts`, '-o', 'StrictHostKeyChecking=yes'],
  groups: ['fleet'],
  vars: {},
});
const opts = { controlDir: `${DIR}/cm`, connectTimeoutSec: 5 };

async function collect(run: RemoteRun): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  run.child.stdout.on('data', (d) => (out += d));
  run.child.stderr.on('data', (d) => (err += d));
  const { exitCode: code } = await run.exit;
  return { code, out, err };
}

// The hosts need sshd, which a tracing machine does not otherwise need (and `npm run quickstart`
// does not install: it would open an SSH server). CI installs it (.ci/run); elsewhere its absence
// is announced: apt-get install -y openssh-server.
const sshd = existsSync('/usr/sbin/sshd');
if (!sshd) {
  if (process.env.CI === 'true') throw new Error('the SSH engine is tested against real sshd hosts: apt-get install -y openssh-server (.ci/run does)');
  process.stderr.write('\n!!! SKIPPING the SSH engine tests: /usr/sbin/sshd is missing (apt-get install -y openssh-server)\n\n');
}

describe.skipIf(!kernel.ok || !sshd)('the SSH engine, on real sshd hosts', () => {
  beforeAll(() => {
    execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'start', String(N), DIR], { stdio: 'pipe', timeout: 60_000 });
  }, 90_000);
  afterAll(() => {
    execFileSync('bash', [path.join(REPO, 'scripts/fleet-hosts.sh'), 'stop', DIR], { stdio: 'pipe' });
  });

  it("detects each host's bpftrace: host 2 runs 0.27 from the Debian root, the others this machine's", async () => {
    const versions = await Promise.all(
      [1, 2, 3].map(async (i) => (await collect(startRemote(host(i), { argv: ['bpftrace', '--version'], deadlineSec: 30, graceSec: 2 }, opts))).out.trim()),
    );
    const local = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
    expect(versions[0]).toBe(local);
    expect(versions[2]).toBe(local);
    if (existsSync('/srv/mcptrace-roots/bin/bpftrace-sid')) expect(versions[1]).toMatch(/^bpftrace v0\.27/);
  }, 60_000);

  it('closing the lifeline stops the tracer with SIGINT, and its maps come back over the connection', async () => {
    const run = startRemote(
      host(1),
      { argv: ['bpftrace', '-f', 'json', '-e', 'tracepoint:sched:sched_switch { @switches = count(); }'], deadlineSec: 60, graceSec: 5 },
      opts,
    );
    const done = collect(run);
    let out = '';
    run.child.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.includes('attached_probes') || out.length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    run.stop();
    const r = await done;
    expect(r.code).toBe(0);
    const map = r.out.split('\n').find((l) => l.includes('"@switches"'));
    expect(map, r.out + r.err).toBeDefined();
    expect(JSON.parse(map!).data['@switches']).toBeGreaterThan(0);
  }, 60_000);

  it('values travel on stdin: shell metacharacters in a positional parameter arrive intact and run nothing', async () => {
    const evil = `$(touch ${DIR}/pwned); \`id\` 'x' "y" & | ; \\n`;
    const r = await collect(
      startRemote(host(3), { argv: ['bpftrace', '-e', 'BEGIN { printf("<%s>\\n", str($1)); exit(); }', '--', evil], deadlineSec: 30, graceSec: 2 }, opts),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`<${evil.slice(0, 63)}`);
    expect(existsSync(`${DIR}/pwned`)).toBe(false);
  }, 60_000);

  it('a connection cut mid-run leaves no tracer on the host', async () => {
    const marker = `cut_${process.pid}`;
    const run = startRemote(
      host(2),
      { argv: ['bpftrace', '-e', `tracepoint:sched:sched_switch { @${marker} = count(); }`], deadlineSec: 120, graceSec: 5 },
      opts,
    );
    const done = collect(run);
    expect(await waitFor(() => pidsWith(marker).some((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bpftrace'), 30_000)).toBe(true);
    run.child.kill('SIGKILL');
    await done;
    expect(await waitFor(() => pidsWith(marker).length === 0, 15_000), `left: ${pidsWith(marker).join(',')}`).toBe(true);
  }, 60_000);

  it('the remote deadline stops a tracer whose lifeline stays open (a silent network cut)', async () => {
    const t0 = Date.now();
    const r = await collect(
      startRemote(host(1), { argv: ['bpftrace', '-f', 'json', '-e', 'interval:ms:100 { @ticks = count(); }'], deadlineSec: 3, graceSec: 5 }, opts),
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('"@ticks"');
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);

  it('an unreachable host fails fast with ssh’s own reason; a missing tracer is named', async () => {
    const gone = await collect(
      startRemote({ ...host(1), name: 'gone', address: '127.0.0.99' }, { argv: ['bpftrace', '--version'], deadlineSec: 10, graceSec: 1 }, opts),
    );
    expect(gone.code).toBe(255);
    expect(gone.err).toMatch(/Connection refused|timed out/);
    const missing = await collect(startRemote(host(1), { argv: ['no-such-tracer', '-x'], deadlineSec: 10, graceSec: 1 }, opts));
    expect(missing.code).toBe(127);
    expect(missing.err).toMatch(/no-such-tracer is not installed on /);
  }, 60_000);

  it('the environment arrives as NAME=VALUE words; a name that is not one refuses the request (exit 90)', async () => {
    const ok = await collect(
      startRemote(
        host(1),
        {
          argv: ['bpftrace', '-e', 'BEGIN { printf("%s\\n", str($1)); exit(); }', '--', 'x'],
          env: { BPFTRACE_MAX_STRLEN: '64' },
          deadlineSec: 30,
          graceSec: 2,
        },
        opts,
      ),
    );
    expect(ok.code, ok.err).toBe(0);
    const bad = await collect(startRemote(host(1), { argv: ['true'], env: { 'X;touch /tmp/pwned': '1' }, deadlineSec: 10, graceSec: 1 }, opts));
    expect(bad.code).toBe(90);
    expect(existsSync('/tmp/pwned')).toBe(false);
  }, 60_000);
});
