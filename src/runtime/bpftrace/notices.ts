/**
 * The one list of bpftrace stderr lines that are known to be harmless, with why. A notice is
 * shown to the caller apart from errors and never makes a run fail, but it must be exact
 * enough never to hide a real error.
 */
export interface HarmlessNotice {
  pattern: RegExp;
  why: string;
}

export const HARMLESS_NOTICES: readonly HarmlessNotice[] = [
  {
    // "ERROR:" in 0.17, "WARNING:" later; printed where the kernel accounts BPF memory with memcg.
    pattern: /couldn't set RLIMIT_MEMLOCK/,
    why: 'harmless: this kernel accounts BPF memory without RLIMIT_MEMLOCK',
  },
];

export function harmlessNotice(line: string): HarmlessNotice | undefined {
  return HARMLESS_NOTICES.find((n) => n.pattern.test(line));
}

export const isHarmless = (line: string): boolean => harmlessNotice(line) !== undefined;

export type StderrLevel = 'error' | 'warning' | 'notice' | 'info';

/** Classifies a bpftrace stderr line. */
export function classifyStderr(line: string): StderrLevel {
  if (isHarmless(line)) return 'notice';
  // bpftrace's own errors, its aborts (FATAL, exit 134), and clang's (`file:2:10: fatal error: …`).
  if (/\bERROR\b|^FATAL\b|: (fatal )?error: /.test(line)) return 'error';
  if (/\bWARNING\b/.test(line)) return 'warning';
  return 'info';
}
