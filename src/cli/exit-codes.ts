import type { ToolResult } from '../core/tool-result.js';

/** Exit codes a script can branch on. 124 and 130 follow timeout(1) and the shell. */
export const EXIT = {
  ok: 0,
  failed: 1,
  input: 2,
  environment: 3,
  traceFailed: 4,
  timeout: 124,
  interrupted: 130,
} as const;

export function exitCodeFor(r: ToolResult): number {
  switch (r.errorKind) {
    case undefined:
      return EXIT.ok;
    case 'input':
    case 'not_found':
      return EXIT.input;
    case 'environment':
      return EXIT.environment;
    case 'failed':
      return EXIT.traceFailed;
    case 'timeout':
      return EXIT.timeout;
  }
}
