/**
 * A tokenizer for bpftrace programs, for the checks that must not be fooled by text: policy
 * rules and probe extraction look at tokens, never at raw text. Comments disappear, strings
 * become one token each, and a call is an identifier whose next token is "(", whatever lies
 * between them (spaces, newlines, comments).
 */
export type TokenType = 'ident' | 'number' | 'string' | 'map' | 'var' | 'punct' | 'directive';

export interface Token {
  type: TokenType;
  /** The token as written; for a string, its content without the quotes (escapes kept). */
  text: string;
  /** 1-based line and column of the first character. */
  line: number;
  col: number;
  /** Offsets into the source: [start, end). */
  start: number;
  end: number;
}

export interface Tokenized {
  tokens: Token[];
  /** Lexical problems (an unterminated string or comment), located. */
  problems: { message: string; line: number; col: number }[];
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;

export function tokenize(src: string): Tokenized {
  const tokens: Token[] = [];
  const problems: Tokenized['problems'] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  // Only a "#" that starts a line (after blanks) is a preprocessor directive.
  let atLineStart = true;
  const push = (type: TokenType, text: string, start: number, startLine: number, startCol: number) =>
    tokens.push({ type, text, line: startLine, col: startCol, start, end: i });
  const newline = () => {
    line++;
    lineStart = i + 1;
    atLineStart = true;
  };
  while (i < src.length) {
    const c = src[i];
    const col = i - lineStart + 1;
    if (c === '\n') {
      newline();
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const startLine = line;
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') newline();
        i++;
      }
      if (i >= src.length) problems.push({ message: 'unterminated comment: close it with */', line: startLine, col });
      i += 2;
      continue;
    }
    const start = i;
    const startLine = line;
    if (c === '#' && atLineStart) {
      while (i < src.length && src[i] !== '\n') i++;
      push('directive', src.slice(start, i).trim(), start, startLine, col);
      continue;
    }
    atLineStart = false;
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"' && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      if (src[i] !== '"') {
        problems.push({ message: 'unterminated string: close it with " on the same line', line: startLine, col });
        push('string', src.slice(start + 1, i), start, startLine, col);
        continue;
      }
      i++;
      push('string', src.slice(start + 1, i - 1), start, startLine, col);
      continue;
    }
    if (IDENT_START.test(c)) {
      while (i < src.length && IDENT.test(src[i])) i++;
      push('ident', src.slice(start, i), start, startLine, col);
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < src.length && /[0-9A-Za-z_]/.test(src[i])) i++;
      push('number', src.slice(start, i), start, startLine, col);
      continue;
    }
    if (c === '@' || c === '$') {
      i++;
      while (i < src.length && (IDENT.test(src[i]) || (c === '$' && src[i] === '#' && i === start + 1))) i++;
      push(c === '@' ? 'map' : 'var', src.slice(start, i), start, startLine, col);
      continue;
    }
    i++;
    push('punct', c, start, startLine, col);
  }
  return { tokens, problems };
}

export interface Call {
  name: string;
  token: Token;
  /** The argument token lists, split at top-level commas. */
  args: Token[][];
}

/**
 * Every call in the program: an identifier followed by "(" (comments and whitespace between
 * them are already gone), except a field access such as `args->signal(`, which is not a call
 * of a builtin. A longer identifier ("mysystem") is its own token, so it never matches.
 */
export function findCalls(tokens: readonly Token[]): Call[] {
  const calls: Call[] = [];
  tokens.forEach((t, i) => {
    if (t.type !== 'ident' || tokens[i + 1]?.text !== '(' || tokens[i + 1]?.type !== 'punct') return;
    const prev = tokens[i - 1];
    if (prev && prev.type === 'punct' && (prev.text === '.' || (prev.text === '>' && tokens[i - 2]?.text === '-'))) return;
    const args: Token[][] = [];
    let depth = 0;
    let current: Token[] = [];
    for (let j = i + 1; j < tokens.length; j++) {
      const a = tokens[j];
      if (a.type === 'punct' && (a.text === '(' || a.text === '[' || a.text === '{')) {
        depth++;
        if (depth === 1) continue;
      } else if (a.type === 'punct' && (a.text === ')' || a.text === ']' || a.text === '}')) {
        depth--;
        if (depth === 0) break;
      } else if (depth === 1 && a.type === 'punct' && a.text === ',') {
        args.push(current);
        current = [];
        continue;
      }
      current.push(a);
    }
    if (current.length || args.length) args.push(current);
    calls.push({ name: t.text, token: t, args });
  });
  return calls;
}
