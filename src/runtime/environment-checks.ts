import { bpftraceVersion } from './bpftrace/info.js';
import { bpftracePath, kernelFeatures, privilegeMode, sudoersHint, tracefsMounted, TRACEFS } from './environment.js';

export interface EnvironmentCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The checks that decide whether tracing can work here, each with its fix. */
export async function environmentChecks(): Promise<{ checks: EnvironmentCheck[]; version?: string }> {
  const checks: EnvironmentCheck[] = [];
  const bpftrace = bpftracePath();
  let version: string | undefined;
  if (bpftrace) {
    const v = await bpftraceVersion(bpftrace);
    version = v.version;
    checks.push({ name: 'bpftrace', ok: v.ok, detail: `${bpftrace} ${version}` });
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
  const features = kernelFeatures();
  checks.push({
    name: 'btf',
    ok: features.btf,
    detail: features.btf ? '/sys/kernel/btf/vmlinux present' : 'no /sys/kernel/btf/vmlinux: struct access needs kernel headers',
    fix: features.btf ? undefined : 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or install linux-headers-$(uname -r)',
  });
  checks.push({
    name: 'kprobes',
    ok: features.kprobes,
    detail: features.kprobes
      ? `${TRACEFS}/kprobe_events present`
      : 'this kernel has no kprobes (CONFIG_KPROBES off): kprobe/kretprobe programs compile but cannot attach',
    fix: features.kprobes ? undefined : 'use tracepoints (list_probes "tracepoint:*"), uprobes or USDT instead',
  });
  const priv = await privilegeMode();
  checks.push({
    name: 'privileges',
    ok: priv.mode !== 'none',
    detail: priv.mode === 'root' ? 'running as root' : priv.mode === 'sudo' ? 'using sudo -n for bpftrace' : priv.reason,
    fix: priv.mode === 'none' ? sudoersHint() : undefined,
  });
  return { checks, version };
}
