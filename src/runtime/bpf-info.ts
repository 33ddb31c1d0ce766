import { runToCompletion } from './subprocess.js';
import { statSync } from 'node:fs';
import { bpftracePath, kernelFeatures, privilegeMode, sudoersHint, tracefsMounted, TRACEFS } from './environment.js';

export type InfoSections = Record<string, Record<string, string>>;

const SECTION_KEYS: Record<string, string> = {
  System: 'system',
  Build: 'build',
  'Kernel helpers': 'helpers',
  'Kernel features': 'features',
  'Map types': 'map_types',
  'Probe types': 'probe_types',
};

/** Parses `bpftrace --info` ("Section" headers, then indented "key: value" lines). */
export function parseBpftraceInfo(text: string): InfoSections {
  const out: InfoSections = {};
  let section: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim() || /RLIMIT_MEMLOCK/.test(line)) continue;
    if (!/^\s/.test(line)) {
      const name = line.trim();
      section = out[SECTION_KEYS[name] ?? name.toLowerCase().replace(/[^a-z0-9]+/g, '_')] = {};
      continue;
    }
    const m = /^\s+(.+?):\s*(.*)$/.exec(line);
    if (m && section) section[m[1]] = m[2];
  }
  return out;
}

const versions = new Map<string, Promise<{ ok: boolean; version: string }>>();

/** `bpftrace --version`, asked once per binary (path and mtime), not on every bpf_info. */
function bpftraceVersion(bpftrace: string): Promise<{ ok: boolean; version: string }> {
  const key = `${bpftrace}:${statSync(bpftrace).mtimeMs}`;
  let v = versions.get(key);
  if (!v) {
    v = runToCompletion(bpftrace, ['--version']).then((r) => ({ ok: r.exitCode === 0, version: String(r.stdout).trim().replace(/^bpftrace\s+/, '') }));
    versions.set(key, v);
  }
  return v;
}

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
    detail: features.kprobes ? `${TRACEFS}/kprobe_events present` : 'this kernel has no kprobes (CONFIG_KPROBES off): kprobe/kretprobe programs compile but cannot attach',
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
