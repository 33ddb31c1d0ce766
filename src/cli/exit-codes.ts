import type { ErrorKind, ToolResult } from '../results/tool-result.js';

/** Exit codes a script can branch on. 124, 130 and 141 follow timeout(1) and the shell, 70 sysexits. */
export const EXIT = {
  ok: 0,
  failed: 1,
  input: 2,
  environment: 3,
  traceFailed: 4,
  /** The safety policy refused the program. */
  policy: 5,
  internal: 70,
  timeout: 124,
  interrupted: 130,
  /** The reader of stdout went away (| head): what a shell shows for a tool killed by SIGPIPE. */
  brokenPipe: 141,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  input: EXIT.input,
  not_found: EXIT.input,
  environment: EXIT.environment,
  failed: EXIT.traceFailed,
  timeout: EXIT.timeout,
  internal: EXIT.internal,
  policy: EXIT.policy,
};

export function exitCodeFor(r: ToolResult): number {
  return r.errorKind === undefined ? EXIT.ok : BY_KIND[r.errorKind];
}
