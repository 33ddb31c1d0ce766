import { existsSync } from 'node:fs';
import { featuresOf, parseVersion, type BpftraceFeatures } from './bpftrace/version.js';
import {
  helperBpftrace,
  kernelFeatures,
  locateBpftrace,
  privilegeMode,
  sudoersHint,
  tracefsMounted,
  TRACEFS,
  type BpftraceLocation,
  type PrivilegeMode,
} from './environment.js';

export interface EnvironmentCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** A feature tracing can do without (kprobes, BTF): its absence is a warning, not a failure. */
  optional?: boolean;
}

/**
 * The one severity model for doctor, bpf_info (`mcptrace info`) and anything else that shows a
 * check: a passing check is ok; a failing one is a warning when it is optional and a failure
 * when tracing cannot work without it.
 */
export type Severity = 'ok' | 'warn' | 'fail';

export function severityOf(c: Pick<EnvironmentCheck, 'ok' | 'optional'>): Severity {
  return c.ok ? 'ok' : c.optional ? 'warn' : 'fail';
}

/** How a severity reads in a terminal: a failure stands out, and the marks line up. */
export const SEVERITY_MARK: Record<Severity, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/** A check with its severity spelled out, as JSON consumers (doctor --json, bpf_info) get it. */
export function withSeverity<C extends EnvironmentCheck>(c: C): C & { severity: Severity } {
  return { ...c, severity: severityOf(c) };
}

/** The checks that decide whether tracing can work here, each with its fix. */
export async function environmentChecks(): Promise<{ checks: EnvironmentCheck[]; version?: string; features?: BpftraceFeatures }> {
  const checks: EnvironmentCheck[] = [];
  let version: string | undefined;
  let features: BpftraceFeatures | undefined;
  const priv = await privilegeMode();
  // An unprivileged server's bpftrace is the helper's, possibly in a chroot it cannot enter.
  const located: BpftraceLocation =
    priv.mode === 'helper'
      ? await helperBpftrace(priv.conf).then((h) =>
          h.ok
            ? { ok: true, path: `${priv.conf.bpftrace ?? 'bpftrace'} (through ${priv.conf.helper})`, version: h.version, fromEnv: false }
            : { ok: false, problem: `bpftrace does not answer through ${priv.conf.helper}: ${h.detail}`, fix: 'sudo mcptrace setup privileges --apply' },
        )
      : await locateBpftrace();
  if (located.ok) {
    version = located.version;
    const parsed = parseVersion(located.version);
    features = parsed && featuresOf(parsed);
    const supported = parsed ? parsed.major > 0 || parsed.minor >= 17 : false;
    checks.push({
      name: 'bpftrace',
      ok: supported,
      detail: `${located.path} ${version}${located.fromEnv ? ' (from MCPTRACE_BPFTRACE)' : ''}${features ? `: ${describeFeatures(features)}` : ''}`,
      fix: supported ? undefined : 'mcptrace supports bpftrace 0.17 and later: upgrade bpftrace',
    });
  } else {
    checks.push({ name: 'bpftrace', ok: false, detail: located.problem, fix: located.fix });
  }
  const mounted = tracefsMounted();
  checks.push({
    name: 'tracefs',
    ok: mounted,
    detail: mounted ? `mounted at ${TRACEFS}` : `not mounted at ${TRACEFS}`,
    fix: mounted ? undefined : `mount -t tracefs nodev ${TRACEFS}`,
  });
  const kernel = kernelFeatures();
  checks.push({
    name: 'btf',
    ok: kernel.btf,
    detail: kernel.btf ? '/sys/kernel/btf/vmlinux present' : 'no /sys/kernel/btf/vmlinux: struct access needs kernel headers',
    fix: kernel.btf ? undefined : 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or install linux-headers-$(uname -r)',
    optional: true,
  });
  checks.push({
    name: 'kprobes',
    ok: kernel.kprobes,
    detail: kernel.kprobes
      ? `${TRACEFS}/kprobe_events present`
      : 'this kernel has no kprobes (CONFIG_KPROBES off): kprobe/kretprobe programs compile but cannot attach',
    fix: kernel.kprobes ? undefined : 'use tracepoints (list_probes "tracepoint:*"), uprobes or USDT instead',
    optional: true,
  });
  checks.push(privilegesCheck(priv));
  return { checks, version, features };
}

/** Which privilege mode is active and what it lacks. */
export function privilegesCheck(priv: PrivilegeMode): EnvironmentCheck {
  if (priv.mode === 'root') return { name: 'privileges', ok: true, detail: 'running as root' };
  if (priv.mode === 'helper') {
    const c = priv.conf;
    const extras = [
      c.chroot ? `bpftrace in the chroot ${c.chroot}` : undefined,
      c.mode === 'caps' ? `capabilities ${c.caps.join(',')}` : undefined,
      c.allowUnsafe ? 'allow_unsafe=yes (-c, --unsafe and file reads allowed: this user is root-equivalent)' : undefined,
      c.sandbox
        ? isSystemdRunning()
          ? `sandboxed by systemd-run${c.memoryMax ? ` MemoryMax=${c.memoryMax}` : ''}${c.cpuQuota ? ` CPUQuota=${c.cpuQuota}` : ''}`
          : 'sandbox=systemd is set, but systemd is not running here: tracers run without it'
        : undefined,
    ].filter(Boolean);
    return {
      name: 'privileges',
      ok: true,
      detail: `${c.mode} mode: tracers run through ${c.helper} (${c.tools.length} tools, ${c.scripts.length} scripts allowed)${extras.length ? `; ${extras.join('; ')}` : ''}`,
    };
  }
  if (priv.mode === 'sudo')
    return {
      name: 'privileges',
      ok: false,
      optional: true,
      detail:
        'using `sudo -n bpftrace`: a sudoers rule for bpftrace itself makes this user root (bpftrace -c /bin/sh), and a tracer outlives a server killed with SIGKILL',
      fix: 'replace that rule with the privileged helper: sudo mcptrace setup privileges --user $USER --apply, then remove the old line with visudo',
    };
  return { name: 'privileges', ok: false, detail: priv.reason, fix: priv.fix ?? sudoersHint() };
}

export const isSystemdRunning = (): boolean => existsSync('/run/systemd/system');

/** One line on what this bpftrace does its own way, for doctor and bpf_info. */
export function describeFeatures(f: BpftraceFeatures): string {
  return [
    `attach notice on ${f.attachNoticeStream}`,
    `map keys via ${f.mapKeysEnv}`,
    `${f.btfFunctionProbe} probes`,
    f.streamedMaps ? 'maps print as a stream' : 'maps print whole',
    ...(f.outputLayer2024 ? ['2024 output layer (null, booleans, located runtime errors)'] : []),
  ].join(', ');
}
