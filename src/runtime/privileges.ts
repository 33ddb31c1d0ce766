import { readFileSync, statSync } from 'node:fs';

/**
 * The privileged helper (helper/mcptrace-tracer.c) as the server sees it. An unprivileged server
 * runs every tracer through it: through `sudo -n` (sudo mode) or directly, the helper holding
 * file capabilities (caps mode). The helper is the security boundary and checks everything
 * again; what the server checks here only turns a refusal into an error that says what to do.
 */

/** The config `mcptrace setup privileges` writes; root's, readable by all. */
export const DEFAULT_PRIVILEGES_CONF = '/etc/mcptrace/tracer.conf';
export const DEFAULT_HELPER = '/usr/local/libexec/mcptrace/mcptrace-tracer';

export const privilegesConfPath = (): string => process.env.MCPTRACE_PRIVILEGES || DEFAULT_PRIVILEGES_CONF;

export interface PrivilegesConf {
  file: string;
  mode: 'sudo' | 'caps';
  helper: string;
  bpftrace?: string;
  chroot?: string;
  user?: string;
  group?: string;
  tools: string[];
  scripts: string[];
  caps: string[];
  allowUnsafe: boolean;
  sandbox?: 'systemd';
  memoryMax?: string;
  cpuQuota?: string;
}

export class PrivilegesConfError extends Error {}

/** KEY=VALUE lines, `#` comments; repeated keys (tool, script) accumulate. */
export function parsePrivilegesConf(text: string, file: string): PrivilegesConf {
  const conf: PrivilegesConf = { file, mode: 'sudo', helper: DEFAULT_HELPER, tools: [], scripts: [], caps: [], allowUnsafe: false };
  let mode: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new PrivilegesConfError(`${file}:${i + 1}:1: no '=' in "${line}"; each line is KEY=VALUE`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'mode') mode = value;
    else if (key === 'helper') conf.helper = value;
    else if (key === 'bpftrace') conf.bpftrace = value;
    else if (key === 'chroot') conf.chroot = value || undefined;
    else if (key === 'user') conf.user = value;
    else if (key === 'group') conf.group = value;
    else if (key === 'tool') conf.tools.push(value);
    else if (key === 'script') conf.scripts.push(value);
    else if (key === 'caps') conf.caps = value.split(',').filter(Boolean);
    else if (key === 'allow_unsafe') conf.allowUnsafe = value === 'yes';
    else if (key === 'sandbox') conf.sandbox = value === 'systemd' ? 'systemd' : undefined;
    else if (key === 'memory_max') conf.memoryMax = value;
    else if (key === 'cpu_quota') conf.cpuQuota = value;
  });
  if (mode !== 'sudo' && mode !== 'caps')
    throw new PrivilegesConfError(`${file}: mode= must be sudo or caps (it is ${mode === undefined ? 'missing' : `"${mode}"`})`);
  conf.mode = mode;
  return conf;
}

export function renderPrivilegesConf(conf: Omit<PrivilegesConf, 'file'>): string {
  const lines = [
    '# Written by `mcptrace setup privileges`. The helper runs only what this file names; keep it',
    "# root's (mode 0644). `mcptrace setup privileges --remove` removes it.",
    `mode=${conf.mode}`,
    `helper=${conf.helper}`,
    ...(conf.user ? [`user=${conf.user}`] : []),
    ...(conf.group ? [`group=${conf.group}`] : []),
    ...(conf.bpftrace ? [`bpftrace=${conf.bpftrace}`] : []),
    ...(conf.chroot ? [`chroot=${conf.chroot}`] : []),
    ...(conf.caps.length ? [`caps=${conf.caps.join(',')}`] : []),
    `allow_unsafe=${conf.allowUnsafe ? 'yes' : 'no'}`,
    ...(conf.sandbox ? [`sandbox=${conf.sandbox}`] : []),
    ...(conf.memoryMax ? [`memory_max=${conf.memoryMax}`] : []),
    ...(conf.cpuQuota ? [`cpu_quota=${conf.cpuQuota}`] : []),
    'stdbuf=/usr/libexec/coreutils/libstdbuf.so',
    ...conf.tools.map((t) => `tool=${t}`),
    ...conf.scripts.map((s) => `script=${s}`),
  ];
  return `${lines.join('\n')}\n`;
}

let cached: { key: string; conf: PrivilegesConf | undefined } | undefined;

/** The installed config, or undefined when there is none; a broken one throws with its place. */
export function readPrivilegesConf(file = privilegesConfPath()): PrivilegesConf | undefined {
  let key: string;
  try {
    key = `${file}:${statSync(file).mtimeMs}`;
  } catch {
    return undefined;
  }
  if (cached?.key === key) return cached.conf;
  const conf = parsePrivilegesConf(readFileSync(file, 'utf8'), file);
  cached = { key, conf };
  return conf;
}

/** Seconds the helper waits after SIGINT, once the server is gone, before it kills the tracer. */
export const HELPER_GRACE_SECONDS = 30;

/** Environment the helper passes on (numbers only); the rest of a tracer's env is its own. */
const PASSED_ENV = /^(BPFTRACE_[A-Z_]+|__BPFTRACE_NOTIFY_PROBES_ATTACHED)$/;

/** Why the helper would refuse this command line, said before it runs; undefined when it would not. */
export function helperRefusal(conf: PrivilegesConf, argv: readonly string[], bpftrace: string): { problem: string; fix: string } | undefined {
  const [target, ...rest] = argv;
  if (target === bpftrace) {
    const end = rest.indexOf('--');
    const options = end < 0 ? rest : rest.slice(0, end);
    const runs = options.find((a) => a === '-c' || a === '--unsafe' || a === '-o');
    if (runs && !conf.allowUnsafe)
      return {
        problem: `bpftrace's ${runs} ${runs === '-o' ? 'writes a file' : 'runs commands'} with the tracer's privileges (root, through ${conf.mode === 'sudo' ? 'sudo' : 'file capabilities'}), so the privileged helper refuses it`,
        fix: `Trace a running process with pid instead of command. Only the operator can allow it: \`mcptrace setup privileges --allow-unsafe --apply\` (which makes this user root-equivalent), with the server at --safety-level permissive`,
      };
    const script = rest.find((a, i) => !a.startsWith('-') && !['-e', '-f', '-p', '-B', '-d', '--mode', '--emit-elf', '-c', '-o'].includes(rest[i - 1] ?? ''));
    const isListing = rest.includes('-l') || rest.includes('-lv');
    if (script && !rest.includes('-e') && !isListing && !conf.scripts.includes(script))
      return {
        problem: `${script} is not among the scripts the privileged helper may run (${conf.file})`,
        fix: `Run \`mcptrace setup privileges --apply\` again as root to list the installed .bt tools, or add script=${script} to ${conf.file}`,
      };
    return undefined;
  }
  if (!conf.tools.includes(target))
    return {
      problem: `${target} is not among the tracers the privileged helper may run (${conf.file} allows bpftrace and ${conf.tools.length} tools)`,
      fix: `An unprivileged server runs only the binaries its operator allowed: run \`mcptrace setup privileges --apply\` again as root after installing the tool, or add tool=${target} to ${conf.file}`,
    };
  return undefined;
}

/**
 * The tracer's own command line inside a privileged one: without `sudo -n --` and the helper's
 * options. The safety policy reads options up to the first `--`, which is the wrapper's.
 */
export function tracerArgv(argv: readonly string[]): string[] {
  let a = [...argv];
  if (a[0] === 'sudo') a = a.slice(a.indexOf('--') + 1);
  if (a[0] !== undefined && /(^|\/)mcptrace-tracer$/.test(a[0])) a = a.slice(a.indexOf('--') + 1);
  return a;
}

/**
 * The command line that runs `argv` (a tracer's, as root would run it) through the helper:
 * the configured bpftrace is named `bpftrace`, `stdbuf -oL` becomes --line-buffered, and the
 * environment travels as --env (sudo clears it, and the helper builds its own).
 */
export function helperArgv(conf: PrivilegesConf, bpftrace: string, argv: readonly string[], env: Record<string, string> = {}): string[] {
  let cmd = [...argv];
  const flags: string[] = ['--grace', String(HELPER_GRACE_SECONDS)];
  if (cmd[0] === 'stdbuf' && cmd[1] === '-oL') {
    cmd = cmd.slice(2);
    flags.push('--line-buffered');
  }
  for (const [k, v] of Object.entries(env)) if (PASSED_ENV.test(k) && /^\d+$/.test(v)) flags.push('--env', `${k}=${v}`);
  if (cmd[0] === bpftrace) cmd[0] = 'bpftrace';
  return [...(conf.mode === 'sudo' ? ['sudo', '-n', '--'] : []), conf.helper, ...flags, '--', ...cmd];
}
