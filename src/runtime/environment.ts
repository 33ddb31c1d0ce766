import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { bpftraceVersion } from './bpftrace/info.js';
import { featuresOf, OLDEST_SUPPORTED, parseVersion, type BpftraceFeatures } from './bpftrace/version.js';
import { runToCompletion } from './subprocess.js';

/** A problem with the machine rather than with the call; its message carries the fix. */
export class EnvironmentError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(`${message}. ${fix}`);
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

export type PrivilegeMode = { mode: 'root' } | { mode: 'sudo' } | { mode: 'none'; reason: string };

let sudoChecked: Promise<PrivilegeMode> | undefined;

/**
 * How bpftrace gets its privileges: directly as root, else through `sudo -n` (never a password
 * from the environment). Checked once per process.
 */
export function privilegeMode(): Promise<PrivilegeMode> {
  if (isRoot()) return Promise.resolve({ mode: 'root' });
  sudoChecked ??= (async () => {
    const bpftrace = bpftracePath() ?? '/usr/bin/bpftrace';
    const sudo = findInPath('sudo');
    if (!sudo) return { mode: 'none', reason: 'not root and sudo is not installed' } as const;
    const r = await runToCompletion(sudo, ['-n', '-l', bpftrace]);
    return r.exitCode === 0 ? ({ mode: 'sudo' } as const) : ({ mode: 'none', reason: 'not root and `sudo -n` is not allowed for bpftrace' } as const);
  })();
  return sudoChecked;
}

export function sudoersHint(): string {
  const user = process.env.USER || process.env.LOGNAME || 'youruser';
  const bpftrace = bpftracePath() ?? '/usr/bin/bpftrace';
  return `Run mcptrace as root, or add this line with visudo: "${user} ALL=(root) NOPASSWD: ${bpftrace}"`;
}

export interface Preflight {
  bpftrace: string;
  /** Prefix that grants privileges, e.g. ["sudo", "-n", "--"]; empty as root. */
  privilegePrefix: string[];
  /** What this bpftrace version does differently (detected once per binary). */
  features: BpftraceFeatures;
}

/**
 * Checks what every run needs, mounting tracefs when running as root and allowed to.
 * Throws EnvironmentError with the fix.
 */
export async function preflight(opts: { autoMountTracefs: boolean }): Promise<Preflight> {
  const bpftrace = bpftracePath();
  if (!bpftrace) {
    const chosen = process.env.MCPTRACE_BPFTRACE;
    if (chosen) {
      throw new EnvironmentError(
        `MCPTRACE_BPFTRACE is set to ${chosen}, and there is no executable file there`,
        'Point MCPTRACE_BPFTRACE at a bpftrace binary, or unset it to use the bpftrace in PATH',
      );
    }
    throw new EnvironmentError(
      'bpftrace is not installed (not found in PATH or /usr/sbin)',
      'Install it: apt-get install -y bpftrace (Debian/Ubuntu) or dnf install bpftrace (Fedora), or set MCPTRACE_BPFTRACE to its path',
    );
  }
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
  const v = await bpftraceVersion(bpftrace);
  if (!v.ok) {
    throw new EnvironmentError(
      `${bpftrace} does not run: \`${bpftrace} --version\` failed`,
      'Reinstall bpftrace (apt-get install --reinstall bpftrace), or point MCPTRACE_BPFTRACE at a working binary',
    );
  }
  const features = featuresOf(parseVersion(v.version) ?? OLDEST_SUPPORTED);
  return { bpftrace, privilegePrefix: priv.mode === 'sudo' ? ['sudo', '-n', '--'] : [], features };
}

/** A command line run with the privileges a tracer needs (the sudo prefix, if any). */
export function privilegedArgv(pre: Preflight, argv: string[]): string[] {
  return [...pre.privilegePrefix, ...argv];
}
