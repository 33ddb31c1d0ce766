import { existsSync } from 'node:fs';
import { probeMatcher, TYPE_ALIASES as ALIAS } from '../runtime/probe-cache.js';
import type { Example } from './examples.js';

/** Whether an example can run here: its probes on this kernel, and the user's bpftrace version. */
export interface Availability {
  /** false when some probe is missing from this kernel; null when it could not be checked. */
  probes_exist: boolean | null;
  missing_probes: string[];
  /** The bpftrace version in use, as the library keys it ("0.17"). */
  bpftrace_version: string | null;
  /** Whether the example compiles with that version: null when it was never checked on it. */
  compiles_on_version: boolean | null;
  /** Both of the above hold (unknown counts as possible). */
  runs_here: boolean;
}

/** What the kernel offers, read once from bpftrace's probe list and sysfs. */
export class KernelProbes {
  private readonly cache = new Map<string, boolean>();
  private readonly hasKprobes: boolean;
  private readonly hasBtfFunctions: boolean;

  constructor(
    private readonly listed: readonly string[],
    private readonly fileExists: (p: string) => boolean = existsSync,
  ) {
    this.hasKprobes = listed.some((p) => p.startsWith('kprobe:'));
    this.hasBtfFunctions = listed.some((p) => p.startsWith('kfunc:') || p.startsWith('fentry:'));
  }

  private listedMatch(pattern: string): boolean {
    let hit = this.cache.get(pattern);
    if (hit === undefined) {
      if (pattern.includes('*') || pattern.includes('?')) {
        const m = probeMatcher(pattern);
        hit = this.listed.some(m);
      } else {
        hit = this.listed.includes(pattern);
      }
      this.cache.set(pattern, hit);
    }
    return hit;
  }

  /** Whether one probe spec, as written in a program, can attach on this kernel. */
  exists(spec: string): boolean {
    const colon = spec.indexOf(':');
    const rawType = colon < 0 ? spec : spec.slice(0, colon);
    const type = ALIAS[rawType] ?? rawType;
    const rest = colon < 0 ? '' : spec.slice(colon + 1);
    switch (type) {
      case 'BEGIN':
      case 'END':
      case 'profile':
      case 'interval':
      case 'iter':
      case 'watchpoint':
      case 'software':
        return true;
      case 'hardware':
        // No hardware PMU, no hardware events: the "cpu" event source is the PMU.
        return this.fileExists('/sys/bus/event_source/devices/cpu');
      case 'tracepoint':
        return this.listedMatch(`tracepoint:${rest}`);
      case 'rawtracepoint':
        return this.listedMatch(`tracepoint:*:${rest.split(':').pop()}`);
      case 'kprobe':
      case 'kretprobe':
        // bpftrace lists kprobes only when available_filter_functions is readable.
        return this.hasKprobes && this.listedMatch(`kprobe:${rest.replace(/\+\d+$/, '')}`);
      case 'kfunc':
      case 'kretfunc':
      case 'fentry':
      case 'fexit':
        return this.hasBtfFunctions && (this.listedMatch(`kfunc:${rest}`) || this.listedMatch(`fentry:${rest}`));
      case 'uprobe':
      case 'uretprobe':
      case 'usdt': {
        // A library named without a path ("libc") is resolved by bpftrace; only a path can be checked.
        const target = rest.split(':')[0];
        return !target.startsWith('/') || target.includes('*') || this.fileExists(target);
      }
      default:
        return false;
    }
  }

  /** Whether a requirement of the library's metadata holds here. */
  satisfies(req: string): boolean {
    if (req === 'kprobes') return this.hasKprobes;
    if (req === 'btf') return this.fileExists('/sys/kernel/btf/vmlinux');
    if (req.startsWith('binary:')) return this.fileExists(req.slice('binary:'.length));
    return true;
  }
}

/** "v0.17.0" → "0.17", the key of an example's `compiles` map. */
export const versionKey = (v: string): string | null => /(\d+)\.(\d+)/.exec(v)?.slice(1, 3).join('.') ?? null;

export function availability(e: Example, kernel: KernelProbes | undefined, version: string | null): Availability {
  const missing = kernel ? [...e.probes.filter((p) => !kernel.exists(p)), ...e.requires.filter((r) => !kernel.satisfies(r)).map((r) => `requires ${r}`)] : [];
  const probesExist = kernel ? missing.length === 0 : null;
  const compiles = version && version in e.compiles ? e.compiles[version] : null;
  return {
    probes_exist: probesExist,
    missing_probes: missing,
    bpftrace_version: version,
    compiles_on_version: compiles,
    runs_here: probesExist !== false && compiles !== false,
  };
}
