/** What a problem is about; `tools validate` prints it in brackets, actionlint style. */
export type ProblemKind = 'io' | 'syntax' | 'duplicate-key' | 'schema' | 'ref' | 'input-schema' | 'duplicate-name' | 'kind' | 'run' | 'template' | 'bcc';

/**
 * A located problem in a user-supplied file (manifest, template, bcc spec).
 * The loader never throws on bad input: it returns these.
 */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
  kind: ProblemKind;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message} [${p.kind}]`;
}

/** The problem line, plus the offending source line and a caret under the column. */
export function formatProblemWithSource(p: Problem, source: string | undefined): string {
  const head = formatProblem(p);
  if (!source) return head;
  const text = source.split('\n')[p.line - 1];
  if (text === undefined) return head;
  return `${head}\n  ${p.line} | ${text}\n  ${' '.repeat(String(p.line).length)} | ${' '.repeat(Math.max(0, p.col - 1))}^`;
}
