import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError, kernelFeatures, TRACEFS, type RemoteTarget } from '../../runtime/environment.js';

/** What a template may declare it needs beyond tracepoints every kernel has. */
export const REQUIREMENT_PATTERN = '^(kprobes|kfunc|btf|tracepoint:[A-Za-z0-9_]+:[A-Za-z0-9_]+)$';

const FEATURE_TEXT: Record<string, string> = {
  kprobes: 'kprobes are not available on this kernel (CONFIG_KPROBES is off, or there is no kprobe_events in tracefs)',
  kfunc: 'kfunc/fentry probes are not available on this kernel (they need BTF, CONFIG_FUNCTION_TRACER and BPF trampolines)',
  btf: 'this kernel has no BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF is off)',
};

// An unprivileged server cannot look inside tracefs (mode 0700): it cannot tell, and the tracer,
// which runs with privileges, says what is missing instead.
const tracefsReadable = (): boolean => {
  try {
    accessSync(path.join(TRACEFS, 'events'), constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const tracepointExists = (category: string, event: string) => !tracefsReadable() || existsSync(path.join(TRACEFS, 'events', category, event));

/** The first requirement this machine does not meet, as a message, or undefined. */
export function unmetRequirement(requires: readonly string[], remote?: RemoteTarget): string | undefined {
  const features = remote?.kernelFeatures ?? kernelFeatures();
  for (const r of requires) {
    if (r.startsWith('tracepoint:')) {
      // Another host's tracepoints are its tracer's to report (the run's diagnosis names them).
      if (remote) continue;
      const [, category, event] = r.split(':');
      if (!tracepointExists(category, event)) return `tracepoint ${category}:${event} does not exist on this kernel (${TRACEFS}/events/${category}/${event})`;
    } else if (!features[r as keyof typeof features]) return FEATURE_TEXT[r];
  }
  return undefined;
}

/**
 * Refuses a rendered program whose tracepoints this kernel does not have (moved or renamed
 * between versions, or misspelled in a parameter), naming them, before bpftrace says it less
 * clearly. Wildcards are left to bpftrace.
 */
export function assertTracepointsExist(tool: string, probes: readonly string[]): void {
  const missing = probes.filter((p) => {
    const [type, category, event] = p.split(':');
    return (type === 'tracepoint' || type === 't') && category && event && !/[*?[]/.test(p) && !tracepointExists(category, event);
  });
  if (missing.length) {
    throw new EnvironmentError(
      `${tool} cannot run here: this kernel has no ${missing.join(', ')} (not in ${TRACEFS}/events)`,
      `List what exists with list_probes, e.g. filter "tracepoint:${missing[0].split(':')[1]}:*"`,
    );
  }
}

/** Refuses a run whose template needs something this kernel lacks, saying what to use instead. */
export function assertRequirements(tool: string, requires: readonly string[], instead: string | undefined, remote?: RemoteTarget): void {
  const unmet = unmetRequirement(requires, remote);
  if (unmet)
    throw new EnvironmentError(
      `${tool} cannot run ${remote ? `on ${remote.host}` : 'here'}: ${unmet}`,
      instead ?? 'Use a tracepoint-based tool instead (list_templates lists them).',
    );
}
