import { describe, expect, it } from 'vitest';
import { planPrivileges, renderPlan, sudoersFile, TRACER_CAPS } from '../../src/cli/privileges-setup.js';
import { privilegesCheck } from '../../src/runtime/environment-checks.js';
import { EnvironmentError, privilegedArgv, type Preflight } from '../../src/runtime/environment.js';
import { featuresOf, OLDEST_SUPPORTED } from '../../src/runtime/bpftrace/version.js';
import { helperArgv, parsePrivilegesConf, PrivilegesConfError, renderPrivilegesConf, tracerArgv, type PrivilegesConf } from '../../src/runtime/privileges.js';

const conf = (over: Partial<PrivilegesConf> = {}): PrivilegesConf => ({
  file: '/etc/mcptrace/tracer.conf',
  mode: 'sudo',
  helper: '/usr/local/libexec/mcptrace/mcptrace-tracer',
  bpftrace: '/usr/bin/bpftrace',
  tools: ['/usr/sbin/execsnoop'],
  scripts: ['/usr/sbin/biosnoop.bt'],
  caps: [],
  allowUnsafe: false,
  ...over,
});

const pre = (c: PrivilegesConf): Preflight => ({ bpftrace: '/usr/bin/bpftrace', privilegePrefix: [], helper: c, features: featuresOf(OLDEST_SUPPORTED) });

describe('the privileges config', () => {
  it('round-trips through render and parse', () => {
    const c = conf({ mode: 'caps', caps: TRACER_CAPS, chroot: '/srv/root', user: 'alice' });
    const { file: _file, ...rest } = c;
    const parsed = parsePrivilegesConf(renderPrivilegesConf(rest), c.file);
    expect(parsed).toMatchObject({
      mode: 'caps',
      caps: TRACER_CAPS,
      chroot: '/srv/root',
      user: 'alice',
      tools: c.tools,
      scripts: c.scripts,
      allowUnsafe: false,
    });
  });

  it('a line without = is an error with its place and the fix', () => {
    expect(() => parsePrivilegesConf('mode=sudo\nbpftrace /usr/bin/bpftrace\n', '/etc/x.conf')).toThrow(
      /\/etc\/x\.conf:2:1: no '=' in "bpftrace \/usr\/bin\/bpftrace"; each line is KEY=VALUE/,
    );
  });

  it('a missing or unknown mode is refused', () => {
    expect(() => parsePrivilegesConf('bpftrace=/usr/bin/bpftrace\n', '/etc/x.conf')).toThrow(PrivilegesConfError);
    expect(() => parsePrivilegesConf('mode=setuid\n', '/etc/x.conf')).toThrow(/mode= must be sudo or caps \(it is "setuid"\)/);
  });
});

describe('command lines through the helper', () => {
  it('sudo mode: sudo -n, the helper, its grace, the env as numbers only, bpftrace by name', () => {
    const argv = helperArgv(conf(), '/usr/bin/bpftrace', ['/usr/bin/bpftrace', '-f', 'json', '-e', 'BEGIN {}'], {
      BPFTRACE_PERF_RB_PAGES: '1024',
      __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1',
      BPFTRACE_CACHEDIR: '/tmp/x',
      LD_PRELOAD: '/tmp/evil.so',
    });
    expect(argv).toEqual([
      'sudo',
      '-n',
      '--',
      '/usr/local/libexec/mcptrace/mcptrace-tracer',
      '--grace',
      '30',
      '--env',
      'BPFTRACE_PERF_RB_PAGES=1024',
      '--env',
      '__BPFTRACE_NOTIFY_PROBES_ATTACHED=1',
      '--',
      'bpftrace',
      '-f',
      'json',
      '-e',
      'BEGIN {}',
    ]);
  });

  it('caps mode: the helper directly; stdbuf -oL becomes --line-buffered', () => {
    const argv = helperArgv(conf({ mode: 'caps' }), '/usr/bin/bpftrace', ['stdbuf', '-oL', '/usr/sbin/execsnoop', '-T']);
    expect(argv).toEqual(['/usr/local/libexec/mcptrace/mcptrace-tracer', '--grace', '30', '--line-buffered', '--', '/usr/sbin/execsnoop', '-T']);
  });

  it('a binary the helper would refuse is refused before it runs, with the fix', () => {
    const p = pre(conf());
    expect(() => privilegedArgv(p, ['/usr/bin/id'])).toThrow(EnvironmentError);
    expect(() => privilegedArgv(p, ['stdbuf', '-oL', '/usr/sbin/reboot'])).toThrow(
      /\/usr\/sbin\/reboot is not among the tracers the privileged helper may run.*setup privileges --apply/s,
    );
    expect(() => privilegedArgv(p, ['/usr/bin/bpftrace', '/tmp/mine.bt'])).toThrow(/\/tmp\/mine\.bt is not among the scripts/);
    expect(privilegedArgv(p, ['/usr/bin/bpftrace', '/usr/sbin/biosnoop.bt']).slice(-2)).toEqual(['bpftrace', '/usr/sbin/biosnoop.bt']);
    expect(privilegedArgv(p, ['/usr/bin/bpftrace', '-l', 'tracepoint:sched:*']).slice(-3)).toEqual(['bpftrace', '-l', 'tracepoint:sched:*']);
    expect(privilegedArgv(p, ['stdbuf', '-oL', '/usr/sbin/execsnoop']).slice(-2)).toEqual(['--', '/usr/sbin/execsnoop']);
  });

  it('root and legacy sudo keep their plain prefix', () => {
    const legacy: Preflight = { bpftrace: '/usr/bin/bpftrace', privilegePrefix: ['sudo', '-n', '--'], features: featuresOf(OLDEST_SUPPORTED) };
    expect(privilegedArgv(legacy, ['/usr/bin/bpftrace', '-l'])).toEqual(['sudo', '-n', '--', '/usr/bin/bpftrace', '-l']);
  });
});

describe('setup privileges: the plan', () => {
  it('sudo mode allows the helper and nothing else, keeps its stdin a pipe, for one user', () => {
    const plan = planPrivileges({ mode: 'sudo', user: 'alice', bpftrace: '/usr/bin/bpftrace' });
    expect(plan.sudoers).toContain('alice ALL=(root) NOPASSWD: /usr/local/libexec/mcptrace/mcptrace-tracer\n');
    expect(plan.sudoers).toContain('Defaults!/usr/local/libexec/mcptrace/mcptrace-tracer !use_pty\n');
    expect(plan.sudoers).not.toMatch(/NOPASSWD: \/usr\/bin\/bpftrace|ALL$/m);
    const text = renderPlan(plan);
    expect(text).toContain('groupadd --system -f mcptrace');
    expect(text).toContain('chmod 0750 /usr/local/libexec/mcptrace/mcptrace-tracer.new');
    expect(text).toContain(`install -m 0440 -o root -g root /dev/stdin ${sudoersFile({ user: 'alice' })} <<'EOF'`);
    expect(text).toContain(`visudo -c -q -f ${sudoersFile({ user: 'alice' })}`);
    expect(text).not.toContain('setcap');
  });

  it('caps mode gives the helper the measured capabilities, permitted only, and writes no sudoers', () => {
    const plan = planPrivileges({ mode: 'caps', user: 'alice', bpftrace: '/usr/bin/bpftrace', chroot: '/srv/root' });
    expect(plan.sudoers).toBeUndefined();
    expect(renderPlan(plan)).toContain(
      'setcap cap_bpf,cap_perfmon,cap_dac_read_search,cap_dac_override,cap_sys_chroot+p /usr/local/libexec/mcptrace/mcptrace-tracer.new',
    );
    expect(renderPlan(plan)).toContain('caps=bpf,perfmon,dac_read_search,dac_override');
  });

  it('a user name sudo would skip as a file name is made safe', () => {
    expect(sudoersFile({ user: 'j.doe' })).toBe('/etc/sudoers.d/mcptrace-j_doe');
  });

  it('a group instead of a user: %group in sudoers, the helper is the group’s, nobody joins ours', () => {
    const plan = planPrivileges({ mode: 'sudo', group: 'tracers', bpftrace: '/usr/bin/bpftrace' });
    expect(plan.who).toBe('group tracers');
    expect(plan.sudoers).toContain('%tracers ALL=(root) NOPASSWD: /usr/local/libexec/mcptrace/mcptrace-tracer\n');
    const text = renderPlan(plan);
    expect(text).toContain('chown root:tracers /usr/local/libexec/mcptrace/mcptrace-tracer.new');
    expect(text).not.toContain('usermod');
    expect(text).toContain(`/dev/stdin ${sudoersFile({ group: 'tracers' })} <<'EOF'`);
    expect(sudoersFile({ group: 'tracers' })).toBe('/etc/sudoers.d/mcptrace-group-tracers');
    expect(text).toContain('group=tracers');
  });
});

describe('doctor on privileges', () => {
  it('a legacy sudoers rule for bpftrace itself is a warning that says why and what replaces it', () => {
    const c = privilegesCheck({ mode: 'sudo' });
    expect(c).toMatchObject({ ok: false, optional: true });
    expect(c.detail).toMatch(/makes this user root/);
    expect(c.fix).toMatch(/setup privileges/);
  });

  it('helper mode names the mode, the helper and what it allows', () => {
    const c = privilegesCheck({ mode: 'helper', conf: conf({ mode: 'caps', caps: TRACER_CAPS }) });
    expect(c.ok).toBe(true);
    expect(c.detail).toMatch(
      /^caps mode: tracers run through \/usr\/local\/libexec\/mcptrace\/mcptrace-tracer \(1 tools, 1 scripts allowed\); capabilities bpf,perfmon/,
    );
  });
});

describe('the safety policy sees the tracer, not its wrapper', () => {
  it('tracerArgv drops sudo and the helper up to their own --', () => {
    const tracer = ['bpftrace', '-f', 'json', '--unsafe', '-e', 'BEGIN {}', '--', '--unsafe'];
    expect(tracerArgv(helperArgv(conf(), '/usr/bin/bpftrace', ['/usr/bin/bpftrace', ...tracer.slice(1)], { BPFTRACE_PERF_RB_PAGES: '1' }))).toEqual(tracer);
    expect(tracerArgv(helperArgv(conf({ mode: 'caps' }), '/usr/bin/bpftrace', ['/usr/bin/bpftrace', ...tracer.slice(1)]))).toEqual(tracer);
    expect(tracerArgv(['sudo', '-n', '--', '/usr/bin/bpftrace', '--unsafe'])).toEqual(['/usr/bin/bpftrace', '--unsafe']);
    expect(tracerArgv(['/usr/bin/bpftrace', '-e', 'x', '--', 'sudo'])).toEqual(['/usr/bin/bpftrace', '-e', 'x', '--', 'sudo']);
  });
});
