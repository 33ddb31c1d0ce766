/**
 * Typed conversions from JSON values to bpftrace source text. Every user value that enters a
 * rendered program passes through one of these, so a value can never become code. Each helper
 * re-validates its value: the input schema is the first check, never the only one.
 */
export class LiteralError extends Error {}

const describe = (value: unknown) => {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

function matching(value: unknown, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new LiteralError(`expected ${what}, got ${describe(value)}`);
  return value;
}

/** A double-quoted bpftrace string literal. */
export function stringLiteral(value: unknown): string {
  if (typeof value !== 'string') throw new LiteralError(`expected a string, got ${describe(value)}`);
  // bpftrace's lexer has no escape for most control characters; refuse them instead of guessing.
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(value);
  if (bad) {
    throw new LiteralError(`string ${describe(value)} contains control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}; remove it`);
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A decimal integer literal. */
export function integerLiteral(value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new LiteralError(`expected an integer, got ${describe(value)}`);
  }
  return String(value);
}

/** A bare identifier (a map name, a struct field, a kernel function or syscall name). */
export function identifierLiteral(value: unknown): string {
  return matching(value, /^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an identifier ([A-Za-z_][A-Za-z0-9_]*)');
}

/** One component of a probe name that may be a wildcard pattern: `vfs_*`, `tcp_*_ack`. */
export function probePatternLiteral(value: unknown): string {
  return matching(value, /^(?=.*[A-Za-z0-9_])[A-Za-z0-9_*]{1,128}$/, 'a function name or a pattern of letters, digits, _ and *');
}

/** A tracepoint as `category:event`, both plain names. */
export function tracepointLiteral(value: unknown): string {
  return matching(value, /^[A-Za-z0-9_]{1,64}:[A-Za-z0-9_]{1,128}$/, 'a tracepoint as category:event (e.g. sched:sched_switch)');
}

/**
 * An absolute path to a binary or library for a uprobe. bpftrace reads it up to the next `:`,
 * so the characters are limited to what paths of installed binaries use.
 */
export function binaryPathLiteral(value: unknown): string {
  const p = matching(value, /^\/[A-Za-z0-9._+@/-]{1,255}$/, 'an absolute path of letters, digits and . _ + @ / -');
  if (p.split('/').includes('..')) throw new LiteralError(`expected a path without "..", got ${describe(value)}`);
  return p;
}

/** A user-space symbol for a uprobe (C or C++-mangled), optionally with * wildcards. */
export function symbolLiteral(value: unknown): string {
  return matching(value, /^(?=.*[A-Za-z0-9_])[A-Za-z0-9_.*$@]{1,256}$/, 'a symbol of letters, digits and _ . $ @ * (e.g. malloc, _ZN3foo3barEv)');
}

/** Milliseconds given by the user as the nanoseconds bpftrace's nsecs counts in. */
export function msAsNsLiteral(value: unknown): string {
  return integerLiteral(typeof value === 'number' && Number.isSafeInteger(value) ? value * 1_000_000 : value);
}

/** The length in bytes of a string, for strncmp() against a prefix written with str. */
export function byteLengthLiteral(value: unknown): string {
  if (typeof value !== 'string') throw new LiteralError(`expected a string, got ${describe(value)}`);
  return String(Buffer.byteLength(value, 'utf8'));
}

/** Helpers that turn one value into program text, by the name a template calls them with. */
export const LITERAL_HELPERS = {
  str: stringLiteral,
  int: integerLiteral,
  ident: identifierLiteral,
  probe: probePatternLiteral,
  tracepoint: tracepointLiteral,
  path: binaryPathLiteral,
  sym: symbolLiteral,
  ms_as_ns: msAsNsLiteral,
  len: byteLengthLiteral,
} as const satisfies Record<string, (value: unknown) => string>;
