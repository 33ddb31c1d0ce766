import { statSync } from 'node:fs';
import { bpftraceArgv } from './bpftrace/command.js';
import { isHarmless } from './bpftrace/notices.js';
import { kernelFeatures, type Preflight } from './environment.js';
import { runToCompletion } from './subprocess.js';

/** bpftrace's short probe type names. */
export const TYPE_ALIASES: Record<string, string> = {
  t: 'tracepoint',
  k: 'kprobe',
  kr: 'kretprobe',
  u: 'uprobe',
  ur: 'uretprobe',
  U: 'usdt',
  s: 'software',
  h: 'hardware',
  p: 'profile',
  i: 'interval',
  f: 'kfunc',
  fr: 'kretfunc',
  it: 'iter',
  rawtracepoint: 'rawtracepoint',
  rt: 'rawtracepoint',
};

function globToRegex(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * bpftrace's listing semantics: the part before the first ":" matches the probe type, the rest
 * matches "target:function" with * spanning colons; a pattern with no ":" matches any type.
 */
export function probeMatcher(pattern: string): (probe: string) => boolean {
  const colon = pattern.indexOf(':');
  const typeGlob = colon < 0 ? '*' : (TYPE_ALIASES[pattern.slice(0, colon)] ?? pattern.slice(0, colon));
  const rest = colon < 0 ? pattern : pattern.slice(colon + 1);
  const typeRx = globToRegex(typeGlob);
  const restRx = globToRegex(rest);
  return (probe) => {
    const c = probe.indexOf(':');
    return typeRx.test(probe.slice(0, c)) && restRx.test(probe.slice(c + 1));
  };
}

/** A listing that cannot be answered as asked; the message says how to narrow it. */
export class ListingError extends Error {}

/** A live listing (bpftrace -l of uprobes or USDT) is stopped after this long. */
export const LIVE_LISTING_TIMEOUT_MS = 10_000;
/** …or once it has printed this much. */
export const LIVE_LISTING_MAX_BYTES = 16 * 1024 * 1024;

/** bpftrace opens a uprobe's target to read its symbols: a FIFO or a device would block it. */
function uprobeTargetProblem(pattern: string): string | undefined {
  const m = /^(?:u|ur|uprobe|uretprobe|U|usdt):(\/[^:*?[]+):/.exec(pattern);
  if (!m) return undefined;
  try {
    if (!statSync(m[1]).isFile()) return `${m[1]} is not a regular file, so it has no probes; give the path of a binary or a shared library`;
  } catch {
    return `${m[1]} does not exist; give the path of a binary or a shared library (e.g. $(which bash) or /usr/lib/x86_64-linux-gnu/libc.so.6)`;
  }
  return undefined;
}

/** Patterns the kernel-wide listing cannot answer: uprobes and USDT need a binary to read. */
export function needsLiveListing(pattern: string): boolean {
  return /^(u|ur|uprobe|uretprobe|U|usdt):/.test(pattern);
}

/**
 * bpftrace up to 0.22 echoes a pattern as "hardware:*:" and "software:*:": not probes. Since
 * 0.23 it lists the real ones ("software:cpu-clock:"), which must be kept, so only a line with a
 * glob character is an echo.
 */
const PATTERN_ECHO = /^(hardware|software):[^:]*[*?[][^:]*:$/;

export interface ProbeDetail {
  probe: string;
  args: string[];
}

/**
 * The full `bpftrace -l` list, read once (about 40 ms for 2,300 probes) and then filtered in
 * process, so repeated searches cost microseconds.
 */
export class ProbeCache {
  private probes?: Promise<string[]>;

  constructor(private readonly pre: () => Promise<Preflight>) {}

  all(): Promise<string[]> {
    this.probes ??= (async () => {
      const argv = bpftraceArgv(await this.pre(), ['-l']);
      const r = await runToCompletion(argv[0], argv.slice(1));
      if (r.exitCode !== 0) {
        this.probes = undefined;
        throw new Error(
          `bpftrace -l failed (exit ${r.exitCode}): ${String(r.stderr)
            .split('\n')
            .filter((l) => !isHarmless(l))
            .join(' ')
            .trim()}`,
        );
      }
      return String(r.stdout)
        .split('\n')
        .filter((l) => l && !PATTERN_ECHO.test(l));
    })();
    return this.probes;
  }

  async search(pattern: string | undefined): Promise<string[]> {
    if (pattern && needsLiveListing(pattern)) return this.live(['-l', pattern]);
    // A bare pattern matches kfunc probes by function name ("sched*" lists kfunc:vmlinux:sched_*),
    // which the type:rest matcher cannot: where the kernel has kfunc, bpftrace answers it (measured
    // in the stock-kernel guest on 6.12: 171 of bpftrace's 312 probes for "sched*").
    if (pattern && !pattern.includes(':') && ((await this.pre()).features.barePatternMatchesNames || kernelFeatures().kfunc)) return this.live(['-l', pattern]);
    const all = await this.all();
    if (!pattern) return all;
    const match = probeMatcher(pattern);
    return all.filter(match);
  }

  /** `bpftrace -lv` for one probe: its arguments. */
  async detail(probe: string): Promise<ProbeDetail | undefined> {
    const out = await this.live(['-lv', probe], true);
    if (!out.length) return undefined;
    return {
      probe: out[0],
      args: out
        .slice(1)
        .map((l) => l.trim())
        .filter(Boolean),
    };
  }

  /**
   * A listing bpftrace makes now (uprobes, USDT, one probe's arguments): bounded in time and
   * size. `uprobe:/path/to/a/fifo:*` blocked for good (bpftrace opens the file), and `uprobe:*:*`
   * took 12 s and 270 MB for 941,473 probes.
   */
  private async live(args: string[], raw = false): Promise<string[]> {
    const pattern = args[args.length - 1];
    const notFile = uprobeTargetProblem(pattern);
    if (notFile) throw new ListingError(notFile);
    const argv = bpftraceArgv(await this.pre(), args);
    const r = await runToCompletion(argv[0], argv.slice(1), { timeout: LIVE_LISTING_TIMEOUT_MS, maxBuffer: LIVE_LISTING_MAX_BYTES });
    const narrow = 'narrow the pattern: name one binary and a function glob, e.g. uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:mall*';
    if (r.timedOut) throw new ListingError(`listing "${pattern}" took over ${LIVE_LISTING_TIMEOUT_MS / 1000} s and was stopped; ${narrow}`);
    if ((r as { isMaxBuffer?: boolean }).isMaxBuffer) {
      throw new ListingError(`listing "${pattern}" returned over ${LIVE_LISTING_MAX_BYTES / (1024 * 1024)} MiB of probe names and was stopped; ${narrow}`);
    }
    const lines = String(r.stdout).split('\n').filter(Boolean);
    return raw ? lines : lines.filter((l) => !PATTERN_ECHO.test(l));
  }
}
