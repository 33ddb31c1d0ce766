import { featuresOf, parseVersion, type BpftraceFeatures } from './bpftrace/version.js';
import { kernelFeatures, locateBpftrace, privilegeMode, sudoersHint, tracefsMounted, TRACEFS } from './environment.js';

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
  const located = await locateBpftrace();
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
  const priv = await privilegeMode();
  checks.push({
    name: 'privileges',
    ok: priv.mode !== 'none',
    detail: priv.mode === 'root' ? 'running as root' : priv.mode === 'sudo' ? 'using sudo -n for bpftrace' : priv.reason,
    fix: priv.mode === 'none' ? sudoersHint() : undefined,
  });
  return { checks, version, features };
}

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
