import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { bpftraceVersion } from './bpftrace/info.js';
import { featuresOf, OLDEST_SUPPORTED, parseVersion, type BpftraceFeatures } from './bpftrace/version.js';
import { helperArgv, helperRefusal, readPrivilegesConf, type PrivilegesConf } from './privileges.js';
import { runToCompletion } from './subprocess.js';

/** A problem with the machine rather than with the call; its message carries the fix. */
export class EnvironmentError extends Error {
  constructor(
    /** What is wrong, without the fix (a fleet run's host shows the two apart). */
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}. ${fix}`);
  }
}

/** Where tracefs is expected; MCPTRACE_TRACEFS overrides it (older systems, and tests). */
export const TRACEFS = process.env.MCPTRACE_TRACEFS || '/sys/kernel/tracing';

/** The first `name` in PATH, then `extra`, that is executable (or, for scripts, readable). */
export function findInPath(name: string, extra: string[] = ['/usr/sbin', '/usr/local/sbin', '/sbin'], mode: 'exec' | 'read' = 'exec'): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...extra]) {
    const candidate = path.join(dir, name);
    if (usableFile(candidate, mode)) return candidate;
  }
  return undefined;
}

/** A regular file (after symlinks) we may execute or read: a directory is never a command. */
export function usableFile(file: string, mode: 'exec' | 'read' = 'exec'): boolean {
  try {
    accessSync(file, mode === 'exec' ? constants.X_OK : constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export function bpftracePath(): string | undefined {
  return findInPath(process.env.MCPTRACE_BPFTRACE || 'bpftrace');
}

const PATH_EXTRAS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

export type BpftraceLocation = { ok: true; path: string; version: string; fromEnv: boolean } | { ok: false; problem: string; fix: string };

/**
 * Which bpftrace mcptrace will run, and whether it really is one, with one wording for doctor,
 * bpf_info and every run. When MCPTRACE_BPFTRACE is set the answer names the variable and its
 * value: a hint to "set MCPTRACE_BPFTRACE" would send the user back to what they already did.
 */
export async function locateBpftrace(env: NodeJS.ProcessEnv = process.env): Promise<BpftraceLocation> {
  const chosen = env.MCPTRACE_BPFTRACE;
  if (!chosen) {
    const found = findInPath('bpftrace', PATH_EXTRAS);
    if (!found) {
      return {
        ok: false,
        problem: `bpftrace is not installed (not found in PATH or ${PATH_EXTRAS.join(', ')})`,
        fix: 'Install it: apt-get install -y bpftrace (Debian/Ubuntu) or dnf install bpftrace (Fedora), or set MCPTRACE_BPFTRACE to its path',
      };
    }
    const v = await bpftraceVersion(found);
    if (!v.ok)
      return {
        ok: false,
        problem: `${found} does not work: \`${found} --version\` ${v.failure}`,
        fix: 'Reinstall bpftrace (apt-get install --reinstall bpftrace)',
      };
    return { ok: true, path: found, version: v.version, fromEnv: false };
  }
  const setTo = `MCPTRACE_BPFTRACE is set to ${chosen}`;
  const fix = 'Point MCPTRACE_BPFTRACE at a bpftrace binary (e.g. /usr/bin/bpftrace), or unset it to use the bpftrace in PATH';
  let file: string;
  if (chosen.includes('/')) {
    if (!existsSync(chosen)) return { ok: false, problem: `${setTo}, and there is no file there`, fix };
    if (statSync(chosen).isDirectory()) return { ok: false, problem: `${setTo}, which is a directory, not a program`, fix };
    try {
      accessSync(chosen, constants.X_OK);
    } catch {
      return { ok: false, problem: `${setTo}, and that file is not executable`, fix: `${fix}; if it is bpftrace, make it executable (chmod +x ${chosen})` };
    }
    file = chosen;
  } else {
    const found = findInPath(chosen, PATH_EXTRAS);
    if (!found) return { ok: false, problem: `${setTo}, and no program of that name is in PATH or ${PATH_EXTRAS.join(', ')}`, fix };
    file = found;
  }
  const v = await bpftraceVersion(file);
  if (!v.ok)
    return { ok: false, problem: `${setTo}${file !== chosen ? ` (${file})` : ''}, which is not a working bpftrace: \`${file} --version\` ${v.failure}`, fix };
  return { ok: true, path: file, version: v.version, fromEnv: true };
}

/**
 * Whether tracefs is mounted, from the mount table: as a non-root user the directory is not
 * readable (mode 700) even when it is mounted, and that is a privilege problem, not a mount one.
 */
export function tracefsMounted(): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const [, mountpoint, type] = l.split(' ');
        return type === 'tracefs' && mountpoint === TRACEFS;
      });
  } catch {
    try {
      return readdirSync(TRACEFS).length > 0;
    } catch {
      return false;
    }
  }
}

export function kernelFeatures(): { kprobes: boolean; kfunc: boolean; btf: boolean } {
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  return {
    // The kprobe PMU is world-readable sysfs; kprobe_events needs root to even see.
    kprobes: existsSync('/sys/bus/event_source/devices/kprobe') || existsSync(path.join(TRACEFS, 'kprobe_events')),
    // kfunc/fentry needs BTF and trampolines; bpftrace's own --info answer is the authority,
    // but BTF is a precondition we can see without running it.
    kfunc: btf && existsSync(path.join(TRACEFS, 'available_filter_functions')) && existsSync(path.join(TRACEFS, 'kprobe_events')),
    btf,
  };
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export type PrivilegeMode =
  | { mode: 'root' }
  /** Legacy: a sudoers rule for bpftrace itself (which makes the user root; doctor warns). */
  | { mode: 'sudo' }
  /** Through the privileged helper, by sudo or by file capabilities (mcptrace setup privileges). */
  | { mode: 'helper'; conf: PrivilegesConf }
  | { mode: 'none'; reason: string; fix?: string };

let privChecked: Promise<PrivilegeMode> | undefined;

/**
 * How tracers get their privileges: directly as root; else through the helper an operator
 * installed with `mcptrace setup privileges` (sudo or caps mode); else, for older setups,
 * through `sudo -n bpftrace`. Never a password. Checked once per process.
 */
export function privilegeMode(): Promise<PrivilegeMode> {
  if (isRoot()) return Promise.resolve({ mode: 'root' });
  privChecked ??= (async (): Promise<PrivilegeMode> => {
    let conf: PrivilegesConf | undefined;
    try {
      conf = readPrivilegesConf();
    } catch (e) {
      return { mode: 'none', reason: (e as Error).message, fix: 'Run `sudo mcptrace setup privileges --apply` again to rewrite it' };
    }
    const sudo = findInPath('sudo');
    if (conf?.mode === 'caps') {
      if (usableFile(conf.helper)) return { mode: 'helper', conf };
      return {
        mode: 'none',
        reason: `caps mode is set up (${conf.file}), but ${conf.helper} is not executable by this user`,
        fix: `The helper runs only for group mcptrace: sudo usermod -aG mcptrace ${userName()}, then log in again (or start the server with \`sg mcptrace\`)`,
      };
    }
    if (conf?.mode === 'sudo') {
      const r = sudo ? await runToCompletion(sudo, ['-n', '-l', conf.helper]) : undefined;
      if (r?.exitCode === 0) return { mode: 'helper', conf };
      return {
        mode: 'none',
        reason: `sudo mode is set up (${conf.file}), but ${sudo ? `\`sudo -n\` does not allow ${conf.helper} for this user` : 'sudo is not installed'}`,
        fix: `sudo mcptrace setup privileges --mode sudo --user ${userName()} --apply`,
      };
    }
    const bpftrace = bpftracePath() ?? '/usr/bin/bpftrace';
    if (!sudo) return { mode: 'none', reason: 'not root, sudo is not installed, and no privileged helper is set up' };
    const r = await runToCompletion(sudo, ['-n', '-l', bpftrace]);
    return r.exitCode === 0 ? { mode: 'sudo' } : { mode: 'none', reason: 'not root, and no privileged helper is set up (mcptrace setup privileges)' };
  })();
  return privChecked;
}

const userName = (): string => process.env.USER || process.env.LOGNAME || 'youruser';

export function sudoersHint(): string {
  return `Run mcptrace as root, or have an operator set up the privileged helper once: sudo mcptrace setup privileges --user ${userName()} --apply (sudo mode; --mode caps for file capabilities). It prints what it installs; docs/SECURITY.md explains both modes`;
}

export interface Preflight {
  bpftrace: string;
  /** Prefix that grants privileges, e.g. ["sudo", "-n", "--"] (legacy sudo mode); empty as root. */
  privilegePrefix: string[];
  /** Set when tracers run through the privileged helper (an unprivileged server). */
  helper?: PrivilegesConf;
  /** What this bpftrace version does differently (detected once per binary). */
  features: BpftraceFeatures;
  /** Set when the run goes to another host (a fleet run): what its probe found there. */
  remote?: RemoteTarget;
}

/** Another host as a run there needs to know it: its kernel, and which tracers it has. */
export interface RemoteTarget {
  /** The inventory name, as results label the host. */
  host: string;
  kernel: string;
  /** The bpftrace version line, e.g. "bpftrace v0.17.0". */
  bpftraceVersion: string;
  kernelFeatures: { kprobes: boolean; kfunc: boolean; btf: boolean };
  /** Provider candidates that exist there, and those of them a tracing package installed. */
  files: ReadonlySet<string>;
  tools: ReadonlySet<string>;
}

/**
 * Checks what every run needs, mounting tracefs when running as root and allowed to.
 * Throws EnvironmentError with the fix.
 */
export async function preflight(opts: { autoMountTracefs: boolean }): Promise<Preflight> {
  if (!isRoot()) {
    const priv = await privilegeMode();
    if (priv.mode === 'helper') return helperPreflight(priv.conf);
  }
  const located = await locateBpftrace();
  if (!located.ok) {
    // Without privileges a wrapper that needs root cannot even answer --version (the Debian-root
    // bpftrace of the version lanes): the missing privileges are then the problem to report.
    const binary = bpftracePath();
    const priv = binary && usableFile(binary) && !isRoot() ? await privilegeMode() : undefined;
    if (priv?.mode === 'none') throw new EnvironmentError(`bpftrace needs privileges: ${priv.reason}`, sudoersHint());
    throw new EnvironmentError(located.problem, located.fix);
  }
  const bpftrace = located.path;
  if (!tracefsMounted()) {
    if (isRoot() && opts.autoMountTracefs) {
      const r = await runToCompletion('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
      if (r.exitCode !== 0 || !tracefsMounted()) {
        throw new EnvironmentError(
          `tracefs is not mounted at ${TRACEFS} and mounting it failed: ${String(r.stderr).trim()}`,
          `Mount it by hand: mount -t tracefs nodev ${TRACEFS}`,
        );
      }
    } else {
      throw new EnvironmentError(
        `tracefs is not mounted at ${TRACEFS}, so tracepoints cannot be found or attached`,
        `Mount it: sudo mount -t tracefs nodev ${TRACEFS} (or start the server as root with --mount-tracefs, or MCPTRACE_MOUNT_TRACEFS=1, to let it mount tracefs itself)`,
      );
    }
  }
  const priv = await privilegeMode();
  if (priv.mode === 'none') throw new EnvironmentError(`bpftrace needs privileges: ${priv.reason}`, sudoersHint());
  const features = featuresOf(parseVersion(located.version) ?? OLDEST_SUPPORTED);
  return { bpftrace, privilegePrefix: priv.mode === 'sudo' ? ['sudo', '-n', '--'] : [], features };
}

const helperVersions = new Map<string, Promise<{ ok: boolean; version: string; detail: string }>>();

/** The helper's bpftrace, asked for its version through the helper (it may live in a chroot). */
export function helperBpftrace(conf: PrivilegesConf): Promise<{ ok: boolean; version: string; detail: string }> {
  const bpftrace = conf.bpftrace ?? 'bpftrace';
  const key = `${conf.file}:${statSync(conf.file).mtimeMs}`;
  let v = helperVersions.get(key);
  if (!v) {
    const argv = helperArgv(conf, bpftrace, [bpftrace, '--version']);
    v = runToCompletion(argv[0], argv.slice(1)).then((r) => {
      const out = `${String(r.stdout ?? '')}\n${String(r.stderr ?? '')}`.trim();
      const first = out.split('\n')[0].trim();
      return { ok: r.exitCode === 0 && /^bpftrace\s+v?\d/.test(first), version: first.replace(/^bpftrace\s+/, ''), detail: out.slice(0, 400) };
    });
    helperVersions.set(key, v);
  }
  return v;
}

async function helperPreflight(conf: PrivilegesConf): Promise<Preflight> {
  const bpftrace = conf.bpftrace ?? 'bpftrace';
  const got = await helperBpftrace(conf);
  if (!got.ok)
    throw new EnvironmentError(
      `bpftrace does not answer through the privileged helper ${conf.helper} (${conf.mode} mode): ${got.detail || 'no output'}`,
      'Check the set-up with `mcptrace doctor`, and run `sudo mcptrace setup privileges --apply` again',
    );
  if (!tracefsMounted())
    throw new EnvironmentError(
      `tracefs is not mounted at ${TRACEFS}, so tracepoints cannot be found or attached`,
      `Mount it as root: mount -t tracefs nodev ${TRACEFS}`,
    );
  const features = featuresOf(parseVersion(got.version) ?? OLDEST_SUPPORTED);
  return { bpftrace, privilegePrefix: [], helper: conf, features };
}

/**
 * A command line run with the privileges a tracer needs: the sudo prefix (legacy), or the
 * privileged helper, which gets the environment as arguments. A binary the helper would
 * refuse is refused here first, with the fix.
 */
export function privilegedArgv(pre: Preflight, argv: string[], env: Record<string, string> = {}): string[] {
  if (!pre.helper) return [...pre.privilegePrefix, ...argv];
  const target = argv[0] === 'stdbuf' && argv[1] === '-oL' ? argv.slice(2) : argv;
  const refusal = helperRefusal(pre.helper, target, pre.bpftrace);
  if (refusal) throw new EnvironmentError(refusal.problem, refusal.fix);
  return helperArgv(pre.helper, pre.bpftrace, argv, env);
}
