import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startServer, type TestServer } from '../helpers/mcp.js';
import { BPFTRACE_PATH, describeKernel, pidsWith } from '../helpers/kernel.js';

/**
 * A real non-root user traces through the privileged helper in both modes, and can run nothing
 * else: the helper is installed by `mcptrace setup privileges --apply` itself (at test paths,
 * so a machine's own set-up is left alone), the server runs as that user, and `kill -9` of the
 * server leaves no tracer. Caps mode needs a bpftrace that accepts a non-root user: 0.27 from
 * the Debian sid root (scripts/setup-bpftrace-roots.sh), run in its chroot by the helper.
 */

const USER = 'mcptrace-t';
const SID_ROOT = '/srv/mcptrace-roots/sid';
const HELPER = `/usr/local/libexec/mcptrace-test/mcptrace-tracer`;
const CONF = `/etc/mcptrace-test/tracer.conf`;
const SUDOERS = `/etc/sudoers.d/mcptrace-${USER}`;

function need(cmd: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    // CI installs these (scripts/setup-machine.sh); a missing one there is a failure, not a skip.
    throw new Error(`${cmd} is missing: apt-get install -y ${pkg} (scripts/setup-machine.sh installs it)`);
  }
}

function ensureUser(): { uid: number; gid: number; home: string } {
  if (spawnSync('id', ['-u', USER]).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  const home = mkdtempSync(path.join(tmpdir(), 'mcptrace-unpriv-'));
  chownSync(home, uid, gid);
  return { uid, gid, home };
}

function setup(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'setup', 'privileges', '--user', USER, '--helper', HELPER, '--config', CONF, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** As the test user with its groups (mcptrace among them), in the same pid: setpriv execs. */
const asUser = (): string[] => ['setpriv', `--reuid=${USER}`, `--regid=${USER}`, '--init-groups', '--'];

function runAsUser(argv: string[], home: string): { status: number | null; out: string } {
  const r = spawnSync(asUser()[0], [...asUser().slice(1), ...argv], { encoding: 'utf8', cwd: home, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function userEnv(home: string): Record<string, string> {
  return { HOME: home, MCPTRACE_STATE_DIR: path.join(home, 'state'), MCPTRACE_PRIVILEGES: CONF, USER, LOGNAME: USER };
}

/** Installs a mode with `setup privileges --apply` (which checks it as the user), then serves as the user. */
async function installAndServe(args: string[], home: string): Promise<TestServer> {
  const r = setup([...args, '--apply']);
  expect(r.out).toMatch(/checked: mcptrace-t traced through/);
  expect(r.status).toBe(0);
  return startServer([], userEnv(home), asUser());
}

const text = (r: { content: unknown }) => (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');

/** What every mode must do: the tracing tools work through the helper, as the user. */
async function tracesThroughHelper(server: TestServer): Promise<void> {
  const exec = await server.call('exec_program', { program: 'tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); }', timeout: 2, wait: true });
  expect(exec.isError, text(exec)).toBeFalsy();
  expect(exec.structuredContent.status).toMatch(/completed|timed_out/);
  expect(JSON.stringify(exec.structuredContent.maps ?? exec.structuredContent)).toContain('opens');

  const tpl = await server.call('count_syscalls', { duration: 1, wait: true });
  expect(tpl.isError, text(tpl)).toBeFalsy();
  expect(tpl.structuredContent.status).toBe('completed');

  const probes = await server.call('list_probes', { filter: 'tracepoint:sched:sched_process_e*' });
  expect(probes.isError, text(probes)).toBeFalsy();
  expect(text(probes)).toContain('tracepoint:sched:sched_process_exec');

  const valid = await server.call('validate_program', { program: 'tracepoint:syscalls:sys_enter_read { @reads = count(); }' });
  expect(valid.isError, text(valid)).toBeFalsy();
  expect(valid.structuredContent.valid).toBe(true);
  const invalid = await server.call('validate_program', { program: 'tracepoint:syscalls:sys_enter_read { @reads = cuont(); }' });
  expect(invalid.structuredContent.valid).toBe(false);
  expect(JSON.stringify(invalid.structuredContent.errors)).toMatch(/cuont/);

  const bcc = await server.call('execsnoop', { duration: 2, wait: true });
  expect(bcc.isError, text(bcc)).toBeFalsy();
  expect(bcc.structuredContent.status).toBe('completed');
}

/** Direct calls a user could make, bypassing the server: every one is refused by the helper. */
function refusedDirectly(home: string, via: string[]): void {
  const cases: [string[], RegExp][] = [
    [['--', '/bin/sh', '-c', 'id'], /not an allowed tracer/],
    [['--', '/usr/bin/id'], /not an allowed tracer/],
    [['--', 'bpftrace', '-c', '/bin/sh', '-e', 'BEGIN { exit(); }'], /-c runs a command/],
    [['--', 'bpftrace', '--unsafe', '-e', 'BEGIN { system("id"); exit(); }'], /--unsafe/],
    [['--', 'bpftrace', '-o', '/etc/mcptrace-pwned', '-e', 'BEGIN { exit(); }'], /-o writes a file/],
    [['--', 'bpftrace', '--include', '/etc/shadow', '-e', 'BEGIN { exit(); }'], /option "--include" is not allowed/],
    [['--', 'bpftrace', '--inc', '/etc/shadow', '-e', 'BEGIN { exit(); }'], /option "--inc" is not allowed/],
    [['--', 'bpftrace', '-I', '/etc', '-e', 'BEGIN { exit(); }'], /option "-I" is not allowed/],
    [['--', 'bpftrace', '-e', '#include "/etc/shadow"\nBEGIN { exit(); }'], /#include of a file/],
    [['--', 'bpftrace', '-e', 'BEGIN { cat("/etc/shadow"); exit(); }'], /cat\(\)/],
    [['--', 'bpftrace', '/etc/shadow'], /not an allowed script/],
    [['--', 'bpftrace', '--', '/etc/shadow'], /not an allowed script/],
    [['--', 'bpftrace', '-l', '/etc/shadow'], /listing pattern "\/etc\/shadow" names a file/],
    [['--', 'bpftrace', '-l', '--', 'etc/shadow'], /names a file/],
    [['--', 'bpftrace', '--emit-elf', '/etc/mcptrace-pwned', '-e', 'BEGIN { exit(); }'], /--emit-elf/],
    [['--env', 'LD_PRELOAD=/tmp/x.so', '--', 'bpftrace', '--version'], /environment/],
  ];
  for (const [args, why] of cases) {
    const r = runAsUser([...via, HELPER, ...args], home);
    expect({ args, status: r.status }).toEqual({ args, status: 126 });
    expect(r.out).toMatch(why);
    expect(r.out).toMatch(/fix: /);
  }
  expect(existsSync('/etc/mcptrace-pwned')).toBe(false);
}

/** kill -9 of the server (the CLI here: the same runtime) while a tracer runs: none is left. */
async function noTracerOutlivesKill9(home: string): Promise<void> {
  const marker = `kill9_${process.pid}_${Date.now()}`;
  const child = spawn(
    asUser()[0],
    [...asUser().slice(1), process.execPath, BIN, 'exec', `tracepoint:sched:sched_switch { @${marker}[comm] = count(); }`, '--timeout', '120'],
    {
      cwd: home,
      env: { ...(process.env as Record<string, string>), ...userEnv(home) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // The tracer is up once a bpftrace carries the marker; two seconds more let it attach.
  const tracers = () =>
    pidsWith(marker).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bpftrace';
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 300 && tracers().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(tracers().length, out).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 2000));
  const before = pidsWith(marker);
  process.kill(child.pid!, 'SIGKILL');
  let left = before;
  for (let i = 0; i < 200 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = pidsWith(marker);
  }
  expect(left, `tracers left after kill -9 of the server: ${left.join(', ')}`).toEqual([]);
}

// Caps mode needs a bpftrace that accepts a non-root user (0.17 does not): 0.27 from the Debian
// sid root. CI has it, so there its absence fails; elsewhere the skip is announced.
const sidRoot = existsSync(`${SID_ROOT}/usr/bin/bpftrace`);
if (!sidRoot) {
  if (process.env.CI === 'true') throw new Error(`caps mode is tested with bpftrace 0.27 from ${SID_ROOT}: bash scripts/setup-bpftrace-roots.sh`);
  process.stderr.write(`\n!!! SKIPPING the caps-mode tests: ${SID_ROOT} is missing (bash scripts/setup-bpftrace-roots.sh)\n\n`);
}

describeKernel('an unprivileged server, through the privileged helper', () => {
  let user: { uid: number; gid: number; home: string };

  beforeAll(() => {
    for (const [cmd, pkg] of [
      ['sudo', 'sudo'],
      ['cc', 'gcc libc6-dev'],
      ['setcap', 'libcap2-bin'],
      ['visudo', 'sudo'],
    ] as const)
      need(cmd, pkg);
    user = ensureUser();
  });

  afterAll(() => {
    setup(['--remove']);
  });

  describe('sudo mode', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await installAndServe(['--mode', 'sudo', '--bpftrace', BPFTRACE_PATH], user.home);
    }, 180_000);
    afterAll(async () => server?.close());

    it('the sudoers drop-in allows the helper and nothing else, and passes visudo', () => {
      const rule = execFileSync('cat', [SUDOERS], { encoding: 'utf8' });
      expect(rule).toContain(`${USER} ALL=(root) NOPASSWD: ${HELPER}`);
      expect(rule).not.toMatch(/bpftrace/);
      expect(spawnSync('visudo', ['-c', '-q', '-f', SUDOERS]).status).toBe(0);
      // sudo itself refuses anything else: bpftrace directly, a shell.
      for (const cmd of [
        [BPFTRACE_PATH, '-e', 'BEGIN { exit(); }'],
        ['/bin/sh', '-c', 'id'],
      ]) {
        const r = runAsUser(['sudo', '-n', ...cmd], user.home);
        expect(r.status).not.toBe(0);
        expect(r.out).toMatch(/password is required|not allowed/);
      }
    });

    it('doctor reports sudo mode', () => {
      const r = spawnSync(asUser()[0], [...asUser().slice(1), process.execPath, BIN, 'doctor'], {
        encoding: 'utf8',
        env: { ...(process.env as Record<string, string>), ...userEnv(user.home) },
        cwd: user.home,
      });
      expect(r.stdout).toMatch(/ok\s+privileges\s+sudo mode: tracers run through \/usr\/local\/libexec\/mcptrace-test\/mcptrace-tracer/);
    });

    it('exec_program, a template, a bcc tool, list_probes and validate work', async () => tracesThroughHelper(server), 120_000);

    it('run as root through sudo: the trace sees uid 0, the server is not root', async () => {
      const r = await server.call('exec_program', { program: 'BEGIN { printf("uid=%d\\n", uid); exit(); }', timeout: 10, wait: true });
      expect(text(r)).toContain('uid=0');
      expect(Number(execFileSync('ps', ['-o', 'uid=', '-p', String(server.transport.pid)], { encoding: 'utf8' }).trim())).toBe(user.uid);
    });

    it('--unsafe is refused even at the permissive level: the helper says why', async () => {
      const permissive = await startServer([], { ...userEnv(user.home), MCPTRACE_SAFETY_LEVEL: 'permissive' }, asUser());
      try {
        const r = await permissive.call('exec_program', { program: 'BEGIN { system("id"); exit(); }', unsafe: true, timeout: 10, wait: true });
        expect(r.isError).toBe(true);
        expect(text(r)).toMatch(/--unsafe runs commands with the tracer's privileges \(root, through sudo\), so the privileged helper refuses it/);
        expect(text(r)).not.toMatch(/uid=0/);
      } finally {
        await permissive.close();
      }
    }, 60_000);

    it('the server refuses what runs commands (--unsafe, -c) before the helper sees it, and says what to do', async () => {
      const unsafe = await server.call('exec_program', { program: 'BEGIN { exit(); }', unsafe: true, timeout: 5, wait: true });
      expect(unsafe.isError).toBe(true);
      expect(text(unsafe)).toMatch(/--unsafe runs commands/);
      const command = await server.call('exec_program', { program: 'BEGIN { exit(); }', command: ['/usr/bin/id'], timeout: 5, wait: true });
      expect(command.isError).toBe(true);
      expect(text(command)).toMatch(/-c runs commands with the tracer's privileges \(root, through sudo\), so the privileged helper refuses it/);
      expect(text(command)).toMatch(/pid instead of command/);
      expect(text(command)).not.toMatch(/uid=0/);
    });

    it('a bcc spec that names another binary is refused, even where the operator allowed its directory', async () => {
      const dir = path.join(user.home, 'tools');
      const bin = path.join(user.home, 'bin');
      for (const d of [dir, path.join(dir, 'bcc'), bin]) mkdirSync(d, { recursive: true, mode: 0o755 });
      copyFileSync('/usr/bin/id', path.join(bin, 'mysnoop'));
      chmodSync(path.join(bin, 'mysnoop'), 0o755);
      writeFileSync(path.join(dir, 'bcc', 'mysnoop.yaml'), 'tool: mysnoop\npurpose: A home-made tool.\nvariants:\n  - command: mysnoop\n');
      writeFileSync(
        path.join(dir, 'mysnoop.yaml'),
        [
          'name: mysnoop_tool',
          'title: A user tool',
          'kind: bcc',
          'description: A user catalog entry naming a binary the privileged helper does not allow.',
          'annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false }',
          'input:',
          '  type: object',
          '  additionalProperties: false',
          '  properties:',
          '    timeout: { $ref: common.json#/$defs/timeout }',
          '    wait: { $ref: common.json#/$defs/wait }',
          'run: { tool: mysnoop }',
          '',
        ].join('\n'),
      );
      const s = await startServer(['--tools-dir', dir], { ...userEnv(user.home), MCPTRACE_BCC_ALLOW_DIRS: bin }, asUser());
      try {
        const r = await s.call('mysnoop_tool', { timeout: 5, wait: true });
        expect(r.isError).toBe(true);
        expect(text(r)).toMatch(/mysnoop is not among the tracers the privileged helper may run/);
        expect(text(r)).not.toMatch(/uid=0/);
      } finally {
        await s.close();
      }
    }, 60_000);

    it('direct calls to the helper cannot be stretched', () => refusedDirectly(user.home, ['sudo', '-n', '--']), 60_000);

    it('a sandbox where systemd is absent: doctor says tracers run without it, and they still run', async () => {
      const r = setup(['--mode', 'sudo', '--bpftrace', BPFTRACE_PATH, '--sandbox', '--apply']);
      expect(r.status, r.out).toBe(0);
      const doctor = spawnSync(asUser()[0], [...asUser().slice(1), process.execPath, BIN, 'doctor'], {
        encoding: 'utf8',
        env: { ...(process.env as Record<string, string>), ...userEnv(user.home) },
        cwd: user.home,
      });
      expect(readFileSync(CONF, 'utf8')).toMatch(/^sandbox=systemd\nmemory_max=1G\ncpu_quota=100%$/m);
      if (existsSync('/run/systemd/system')) expect(doctor.stdout).toMatch(/sandboxed by systemd-run MemoryMax=1G CPUQuota=100%/);
      else expect(doctor.stdout).toMatch(/sandbox=systemd is set, but systemd is not running here: tracers run without it/);
    }, 120_000);

    it('kill -9 of the server leaves no tracer', async () => noTracerOutlivesKill9(user.home), 60_000);
  });

  describe.skipIf(!sidRoot)('caps mode', () => {
    let server: TestServer;
    beforeAll(async () => {
      setup(['--remove']);
      server = await installAndServe(['--mode', 'caps', '--bpftrace', '/usr/bin/bpftrace', '--chroot', SID_ROOT], user.home);
    }, 180_000);
    afterAll(async () => server?.close());

    it('the helper holds permitted capabilities only, and only group mcptrace may run it', () => {
      const caps = execFileSync('getcap', [HELPER], { encoding: 'utf8' });
      expect(caps).toMatch(/cap_dac_override,cap_dac_read_search,cap_sys_chroot,cap_perfmon,cap_bpf=p/);
      expect(execFileSync('stat', ['-c', '%U:%G %a', HELPER], { encoding: 'utf8' }).trim()).toBe('root:mcptrace 750');
      // runuser, not setpriv: setpriv still holds root's CAP_DAC_OVERRIDE when it execs.
      const r = spawnSync('runuser', ['-u', 'nobody', '--', HELPER, '--', 'bpftrace', '--version'], { encoding: 'utf8', cwd: '/' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
      expect(r.stdout).not.toMatch(/bpftrace v/);
    });

    it('exec_program, a template, a bcc tool, list_probes and validate work, as the user', async () => {
      await tracesThroughHelper(server);
      const r = await server.call('exec_program', { program: 'BEGIN { printf("uid=%d\\n", uid); exit(); }', timeout: 10, wait: true });
      expect(text(r)).toContain(`uid=${user.uid}`);
    }, 120_000);

    it('direct calls to the helper cannot be stretched', () => refusedDirectly(user.home, []), 60_000);

    it('kill -9 of the server leaves no tracer', async () => noTracerOutlivesKill9(user.home), 60_000);

    it('bpftrace 0.17 refuses any user but root whatever its capabilities: setup says so, and to use sudo mode', () => {
      const r = setup(['--mode', 'caps', '--bpftrace', '/usr/bin/bpftrace', '--apply']);
      expect(r.status).toBe(3);
      expect(r.out).toMatch(/refuses any user but root.*Use --mode sudo/s);
    }, 120_000);
  });
});
