import { bpftraceVersion } from './bpftrace/info.js';
import { featuresOf, parseVersion, type BpftraceFeatures } from './bpftrace/version.js';
import { bpftracePath, kernelFeatures, privilegeMode, sudoersHint, tracefsMounted, TRACEFS } from './environment.js';

export interface EnvironmentCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The checks that decide whether tracing can work here, each with its fix. */
export async function environmentChecks(): Promise<{ checks: EnvironmentCheck[]; version?: string; features?: BpftraceFeatures }> {
  const checks: EnvironmentCheck[] = [];
  const bpftrace = bpftracePath();
  let version: string | undefined;
  let features: BpftraceFeatures | undefined;
  const chosen = process.env.MCPTRACE_BPFTRACE;
  if (bpftrace) {
    const v = await bpftraceVersion(bpftrace);
    version = v.version;
    const parsed = v.ok ? parseVersion(v.version) : undefined;
    features = parsed && featuresOf(parsed);
    const supported = parsed ? parsed.major > 0 || parsed.minor >= 17 : false;
    checks.push({
      name: 'bpftrace',
      ok: v.ok && supported,
      detail: `${bpftrace} ${version}${chosen ? ' (from MCPTRACE_BPFTRACE)' : ''}${features ? `: ${describeFeatures(features)}` : ''}`,
      fix: !v.ok ? `${bpftrace} --version fails: reinstall bpftrace` : supported ? undefined : 'mcptrace supports bpftrace 0.17 and later: upgrade bpftrace',
    });
  } else if (chosen) {
    checks.push({
      name: 'bpftrace',
      ok: false,
      detail: `MCPTRACE_BPFTRACE=${chosen}: no executable file there`,
      fix: `point MCPTRACE_BPFTRACE at a bpftrace binary, or unset it to use the one in PATH`,
    });
  } else {
    checks.push({ name: 'bpftrace', ok: false, detail: 'not found in PATH', fix: 'apt-get install -y bpftrace' });
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
  });
  checks.push({
    name: 'kprobes',
    ok: kernel.kprobes,
    detail: kernel.kprobes
      ? `${TRACEFS}/kprobe_events present`
      : 'this kernel has no kprobes (CONFIG_KPROBES off): kprobe/kretprobe programs compile but cannot attach',
    fix: kernel.kprobes ? undefined : 'use tracepoints (list_probes "tracepoint:*"), uprobes or USDT instead',
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
