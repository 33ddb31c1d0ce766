/**
 * What differs between the bpftrace versions users run (0.17 in Debian 12 to 0.27 in Debian
 * unstable), measured on each (docs/bpftrace-versions.md). The version is detected once per
 * binary; everything version-dependent asks these features, never the version number itself.
 */
export interface BpftraceVersion {
  major: number;
  minor: number;
  patch: number;
  /** As bpftrace prints it, e.g. "v0.23.2". */
  text: string;
}

export interface BpftraceFeatures {
  version: string;
  /** Where __BPFTRACE_NOTIFY_PROBES_ATTACHED is printed: stderr up to 0.22, stdout since 0.23. */
  attachNoticeStream: 'stderr' | 'stdout';
  /** Text mode's attach line: "Attaching N probes..." on stdout, or (0.24+) "Attached N probes" on stderr. */
  attachLine: 'stdout' | 'stderr';
  /** The map-key limit variable: BPFTRACE_MAX_MAP_KEYS since 0.20 (the old name warns on every run). */
  mapKeysEnv: 'BPFTRACE_MAP_KEYS_MAX' | 'BPFTRACE_MAX_MAP_KEYS';
  /** `--info` prints two "key: value" pairs per line since 0.22. */
  infoPairsPerLine: 1 | 2;
  /** The BTF function probe type: kfunc up to 0.21, fentry since 0.22. */
  btfFunctionProbe: 'kfunc' | 'fentry';
  /** A compile-only check that attaches nothing (`-d` stopped being one in 0.22). */
  compileOnlyFlag: '--emit-elf';
  /** Maps print as a stream of per-key events (0.22+) rather than one event per map. */
  streamedMaps: boolean;
  /** Map keys in JSON are escaped twice (0.23 only, measured). */
  jsonKeysEscapedTwice: boolean;
  /** The 0.24 output layer: null for unsupported values, real booleans, located runtime errors. */
  outputLayer2024: boolean;
  /** Empty maps are not printed at exit (0.25+). */
  skipsEmptyMaps: boolean;
}

export function parseVersion(text: string): BpftraceVersion | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: text.trim().replace(/^bpftrace\s+/, '') };
}

/** Whether `v` is at least major.minor. */
export function atLeast(v: Pick<BpftraceVersion, 'major' | 'minor'>, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function featuresOf(v: BpftraceVersion): BpftraceFeatures {
  return {
    version: v.text,
    attachNoticeStream: atLeast(v, 0, 23) ? 'stdout' : 'stderr',
    attachLine: atLeast(v, 0, 24) ? 'stderr' : 'stdout',
    mapKeysEnv: atLeast(v, 0, 20) ? 'BPFTRACE_MAX_MAP_KEYS' : 'BPFTRACE_MAP_KEYS_MAX',
    infoPairsPerLine: atLeast(v, 0, 22) ? 2 : 1,
    btfFunctionProbe: atLeast(v, 0, 22) ? 'fentry' : 'kfunc',
    compileOnlyFlag: '--emit-elf',
    streamedMaps: atLeast(v, 0, 22),
    jsonKeysEscapedTwice: v.major === 0 && v.minor === 23,
    outputLayer2024: atLeast(v, 0, 24),
    skipsEmptyMaps: atLeast(v, 0, 25),
  };
}

/** What an undetectable version is treated as: the oldest we support. */
export const OLDEST_SUPPORTED: BpftraceVersion = { major: 0, minor: 17, patch: 0, text: 'v0.17.0' };
