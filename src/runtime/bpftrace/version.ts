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
  /** The BTF function probe type: kfunc up to 0.21, fentry since 0.22. */
  btfFunctionProbe: 'kfunc' | 'fentry';
  /** Maps print as a stream of per-key events (0.22+) rather than one event per map. */
  streamedMaps: boolean;
  /** Map keys in JSON are escaped twice (0.23 only, measured). */
  jsonKeysEscapedTwice: boolean;
  /** The 0.24 output layer: null for unsupported values, real booleans, located runtime errors. */
  outputLayer2024: boolean;
  /**
   * Text mode prints two blank lines when the maps start printing at exit. Up to 0.23 they are
   * raw newlines in JSON mode too; since 0.24 (the output rewrite) JSON mode has nothing there.
   */
  exitBlankLines: 'raw' | 'text-only';
  /** Up to 0.23 text mode prints an empty map as a blank line (two for avg/stats); JSON prints nothing. */
  emptyMapsPrintBlank: boolean;
  /** What follows a histogram's name: ": " in 0.17 (trailing space), ":" by 0.23. */
  histHeader: ': ' | ':';
  /** A stats value: "count 2, average 5, total 10" up to 0.23, "{ .count = 2, ... }" since 0.24. */
  statsText: 'words' | 'record';
  /** Up to 0.23 an avg or stats map is followed by a blank line in text mode. */
  statsTrailingBlank: boolean;
  /**
   * A one-value bucket prints as `[3]`: only log2's [0] and [1] up to 0.23 (lhist shows
   * `[3, 4)`), any bucket since 0.24.
   */
  singleValueBuckets: 'log2' | 'any';
  /**
   * Since 0.24 JSON erases every space from map keys ("a b" becomes "ab", stack frames lose
   * their indentation): only the spaces of stack frames can be put back.
   */
  jsonKeySpacesErased: boolean;
  /** Text mode ends system()'s output with a newline since 0.24 (JSON's data never has it). */
  systemOutputEndsLine: boolean;
  /** Where text mode prints "Lost N events": stdout up to 0.23, stderr since 0.24. */
  lostEventsLine: 'stdout' | 'stderr';
  /**
   * `bpftrace -l WORD` (no colon): 0.23 takes the word as a probe type (an error for
   * "sys_enter_read"), 0.27 matches probe names. Measured on those two; placed at the 0.24
   * rewrite. Where it matches names, such a pattern is answered by bpftrace itself.
   */
  barePatternMatchesNames: boolean;
  /**
   * How to compile without attaching. `--emit-elf FILE` stops after codegen up to 0.23; 0.27
   * writes the file and then runs the program (measured: it attached and printed). `--mode
   * codegen` (0.25's renamed test modes) stops after codegen there. Placed at 0.25.
   */
  compileOnly: 'emit-elf' | 'mode-codegen';
  /**
   * `-d types` prints the typed program on stdout (after `// Functions`, `// Variables` and
   * `// Program` headers) and then runs it: since 0.25. 0.24 has the stage but prints only
   * the BTF functions and variables (bpftrace's CreateDumpTypesPass at v0.24.0), earlier
   * versions have no such stage. The JSON decoder takes the types of buffers, pointers, enums,
   * arrays and records from it (see value-types.ts).
   */
  typesDump: boolean;
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
    btfFunctionProbe: atLeast(v, 0, 22) ? 'fentry' : 'kfunc',
    streamedMaps: atLeast(v, 0, 22),
    jsonKeysEscapedTwice: v.major === 0 && v.minor === 23,
    outputLayer2024: atLeast(v, 0, 24),
    exitBlankLines: atLeast(v, 0, 24) ? 'text-only' : 'raw',
    emptyMapsPrintBlank: !atLeast(v, 0, 24),
    histHeader: atLeast(v, 0, 18) ? ':' : ': ',
    statsText: atLeast(v, 0, 24) ? 'record' : 'words',
    statsTrailingBlank: !atLeast(v, 0, 24),
    singleValueBuckets: atLeast(v, 0, 24) ? 'any' : 'log2',
    jsonKeySpacesErased: atLeast(v, 0, 24),
    systemOutputEndsLine: atLeast(v, 0, 24),
    lostEventsLine: atLeast(v, 0, 24) ? 'stderr' : 'stdout',
    barePatternMatchesNames: atLeast(v, 0, 24),
    compileOnly: atLeast(v, 0, 25) ? 'mode-codegen' : 'emit-elf',
    typesDump: atLeast(v, 0, 25),
  };
}

/** The options that compile a program without attaching it; `elf` is where 0.17-0.24 write the object. */
export function compileOnlyArgs(features: Pick<BpftraceFeatures, 'compileOnly'>, elf: string): string[] {
  return features.compileOnly === 'mode-codegen' ? ['--mode', 'codegen'] : ['--emit-elf', elf];
}

/** What an undetectable version is treated as: the oldest we support. */
export const OLDEST_SUPPORTED: BpftraceVersion = { major: 0, minor: 17, patch: 0, text: 'v0.17.0' };
