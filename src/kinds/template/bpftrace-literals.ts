/**
 * Typed conversions from JSON values to bpftrace source text. Every user value that enters a
 * rendered program passes through one of these, so a value can never become code.
 */
export class LiteralError extends Error {}

/** A double-quoted bpftrace string literal. */
export function stringLiteral(value: unknown): string {
  if (typeof value !== 'string') throw new LiteralError(`expected a string, got ${JSON.stringify(value)}`);
  // bpftrace's lexer has no escape for most control characters; refuse them instead of guessing.
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(value);
  if (bad) {
    throw new LiteralError(`string ${JSON.stringify(value)} contains control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}; remove it`);
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A decimal integer literal. */
export function integerLiteral(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new LiteralError(`expected an integer, got ${JSON.stringify(value)}`);
  }
  return String(value);
}

/** A bare identifier (a map name, a struct field). */
export function identifierLiteral(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) {
    throw new LiteralError(`expected an identifier ([A-Za-z_][A-Za-z0-9_]*), got ${JSON.stringify(value)}`);
  }
  return value;
}

export const LITERAL_HELPERS = { str: stringLiteral, int: integerLiteral, ident: identifierLiteral } as const;
