/**
 * A located problem in a user-supplied file (manifest, template, bcc spec).
 * The loader never throws on bad input: it returns these, actionlint style.
 */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Short category, e.g. schema, syntax, duplicate-name, template. */
  kind: string;
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
