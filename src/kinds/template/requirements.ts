import { existsSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError, kernelFeatures, TRACEFS } from '../../runtime/environment.js';

/** What a template may declare it needs beyond tracepoints every kernel has. */
export const REQUIREMENT_PATTERN = '^(kprobes|kfunc|btf|tracepoint:[A-Za-z0-9_]+:[A-Za-z0-9_]+)$';

const FEATURE_TEXT: Record<string, string> = {
  kprobes: 'kprobes are not available on this kernel (CONFIG_KPROBES is off, or there is no kprobe_events in tracefs)',
  kfunc: 'kfunc/fentry probes are not available on this kernel (they need BTF, CONFIG_FUNCTION_TRACER and BPF trampolines)',
  btf: 'this kernel has no BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF is off)',
};

/** The first requirement this machine does not meet, as a message, or undefined. */
export function unmetRequirement(requires: readonly string[]): string | undefined {
  const features = kernelFeatures();
  for (const r of requires) {
    if (r.startsWith('tracepoint:')) {
      const [, category, event] = r.split(':');
      if (!existsSync(path.join(TRACEFS, 'events', category, event)))
        return `tracepoint ${category}:${event} does not exist on this kernel (${TRACEFS}/events/${category}/${event})`;
    } else if (!features[r as keyof typeof features]) return FEATURE_TEXT[r];
  }
  return undefined;
}

/** Refuses a run whose template needs something this kernel lacks, saying what to use instead. */
export function assertRequirements(tool: string, requires: readonly string[], instead: string | undefined): void {
  const unmet = unmetRequirement(requires);
  if (unmet) throw new EnvironmentError(`${tool} cannot run here: ${unmet}`, instead ?? 'Use a tracepoint-based tool instead (list_templates lists them).');
}
