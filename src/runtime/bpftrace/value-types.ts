/**
 * The types of the values a bpftrace program prints, which its `-f json` output does not
 * carry. Since 0.24 JSON writes a buffer, an array and a tuple alike as an array of numbers,
 * a pointer and an enum as a bare number, and a record held in a map without keys as an
 * object, the same as a keyed map; text mode prints each its own way. Two sources, best first:
 *
 * - bpftrace's own typed program: `-d types` (0.25+) prints it on stdout before the program
 *   runs, every expression followed by its type, e.g. `@a[(int64)0 /* int8 *\/ /* int64 *\/] =
 *   buf("hi" /* string[3] *\/, 2 /* int8 *\/) /* buffer[6] *\/;`;
 * - without it, the program's source: a map assigned buf() holds buffers, a map assigned
 *   lhist() is no log2 histogram, a map never indexed holds one value.
 */

/** A value's type, as far as its text differs from its JSON. */
export type ValueType =
  | { kind: 'buffer' }
  | { kind: 'pointer' }
  | { kind: 'enum'; name: string }
  | { kind: 'tuple'; elements: ValueType[] }
  | { kind: 'array'; element: ValueType }
  | { kind: 'record'; fields: { name: string; type: ValueType }[] }
  /** A C struct or union: an object whose fields' types are not given. */
  | { kind: 'struct' }
  /** An integer, string, boolean, symbol...: JSON has the text mode's value already. */
  | { kind: 'plain'; text: string };

export interface MapTypes {
  /** The type of the map's values, when known. */
  value?: ValueType;
  /** The type of the map's key, when it prints other than its JSON (an enum up to 0.23). */
  key?: ValueType;
  /** The map has no keys (`@a = ...`): an object value is one record, not keyed entries. */
  scalar?: boolean;
  /** Which histogram the map holds: JSON types lhist() and hist() alike. */
  histogram?: 'hist' | 'lhist';
  /**
   * Every probe that writes the map clears it afterwards, unconditionally: it is empty at exit,
   * so since 0.25 (which skips empty maps there) every print of it is a print() while running.
   */
  emptyAtExit?: boolean;
}

export interface ProgramTypes {
  maps: Map<string, MapTypes>;
  /** The type of each print() of a value (not of a whole map), in program order. */
  prints: ValueType[];
  /** Enum names by enum and value, for the enums the program defines. */
  enums: Map<string, Map<bigint, string>>;
  /** Whether the types are bpftrace's own (from `-d types`), not guessed from the source. */
  fromBpftrace: boolean;
}

const PLAIN: ValueType = { kind: 'plain', text: '' };

/** Parses one of bpftrace's type names (typestr): `(int8,buffer[6])`, `record { .a = int8 }`... */
export function parseType(text: string): ValueType {
  const t = text.trim();
  if (t.startsWith('(') && closing(t, 0) === t.length - 1) return { kind: 'tuple', elements: splitTop(t.slice(1, -1), ',').map(parseType) };
  if (t.startsWith('record {') && t.endsWith('}')) {
    const fields = splitTop(t.slice('record {'.length, -1), ',').flatMap((f) => {
      const m = /^\s*\.(\w+)\s*=\s*([\s\S]*)$/.exec(f);
      return m ? [{ name: m[1], type: parseType(m[2]) }] : [];
    });
    return { kind: 'record', fields };
  }
  if (/^buffer\[\d+\]$/.test(t)) return { kind: 'buffer' };
  if (/^(?:string|inet)(?:\[\d+\])?$/.test(t)) return { kind: 'plain', text: t };
  const array = /^([\s\S]+)\[\d+\]$/.exec(t);
  if (array && !t.endsWith('*')) return { kind: 'array', element: parseType(array[1]) };
  if (t.endsWith('*')) return { kind: 'pointer' };
  if (t.startsWith('enum ')) return { kind: 'enum', name: t.slice(5).trim() };
  if (/^(?:struct|union)\b/.test(t)) return { kind: 'struct' };
  return { kind: 'plain', text: t };
}

/** Whether a type changes how any part of a value prints, compared with its JSON. */
export function isPlain(t: ValueType | undefined): boolean {
  return t === undefined || t.kind === 'plain';
}

/** The index of the bracket closing the one at `open`, or -1. */
function closing(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (--depth === 0) return i;
    }
  }
  return -1;
}

/** Splits on a separator outside brackets. */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (s.slice(start).trim() || out.length) out.push(s.slice(start));
  return out;
}

/** A statement of the program: its code with each comment replaced by `\uE000N\uE000`, and the comments. */
interface Statement {
  code: string;
  comments: string[];
  /** The block nesting it is in: 1 for a probe's own statements. */
  depth: number;
  /** Which top-level block (probe) it is in. */
  probe: number;
}

const MARK = /\uE000(\d+)\uE000/g;

/**
 * Cuts a program into statements at `;`, `{` and `}` outside brackets, strings and comments,
 * keeping each block comment (a type, in a typed program) in order.
 */
function statements(program: string): Statement[] {
  const out: Statement[] = [];
  let code = '';
  let comments: string[] = [];
  let depth = 0;
  let blocks = 0;
  let probe = 0;
  const end = () => {
    if (code.trim()) out.push({ code, comments, depth: blocks, probe });
    code = '';
    comments = [];
  };
  for (let i = 0; i < program.length; i++) {
    const c = program[i];
    if (c === '"') {
      let j = i + 1;
      while (j < program.length && program[j] !== '"') j += program[j] === '\\' ? 2 : 1;
      code += program.slice(i, j + 1);
      i = j;
    } else if (c === '/' && program[i + 1] === '*') {
      const j = program.indexOf('*/', i + 2);
      const stop = j < 0 ? program.length : j;
      code += `\uE000${comments.length}\uE000`;
      comments.push(program.slice(i + 2, stop).trim());
      i = stop + 1;
    } else if (c === '/' && program[i + 1] === '/') {
      const j = program.indexOf('\n', i);
      i = j < 0 ? program.length : j - 1;
    } else if (c === '(' || c === '[') {
      depth++;
      code += c;
    } else if (c === ')' || c === ']') {
      depth = Math.max(0, depth - 1);
      code += c;
    } else if (depth === 0 && (c === ';' || c === '{' || c === '}')) {
      end();
      if (c === '{' && blocks++ === 0) probe++;
      else if (c === '}') blocks = Math.max(0, blocks - 1);
    } else code += c;
  }
  end();
  return out;
}

/** The type in the last comment of a piece of a statement. */
function lastType(piece: string, comments: readonly string[]): ValueType | undefined {
  const marks = [...piece.matchAll(MARK)];
  return marks.length ? parseType(comments[Number(marks[marks.length - 1][1])]) : undefined;
}

const stripMarks = (s: string) => s.replace(MARK, '').trim();

/** `@name[key] = value` (not `==`), with the key's text and the value's. */
const ASSIGNMENT = /^\s*(@\w*)\s*(\[[\s\S]*\])?\s*=(?!=)([\s\S]*)$/;
const HISTOGRAM_CALL = /\b(l?hist)\(\s*(@\w*)/g;
const HISTOGRAM_ASSIGNMENT = /(@\w*)\s*(?:\[[^\]]*\])?\s*=\s*(l?hist)\s*\(/g;
const PRINT = /^\s*print\s*\(([\s\S]*)\)[\s\uE000\d]*$/;
const ENUM = /\benum\s+(\w+)\s*\{([^}]*)\}/g;
/** 0.27 prints a map without keys as indexed by a literal 0 cast to int64. */
const SCALAR_KEY = /^\[\(int64\)0\]$/;

/** The types in `bpftrace -d types` output (the lines after `// Program`). */
export function typesOfTypedProgram(program: string): ProgramTypes {
  const types: ProgramTypes = { maps: new Map(), prints: [], enums: enumsOf(program), fromBpftrace: true };
  const map = (name: string) => types.maps.get(name) ?? types.maps.set(name, {}).get(name)!;
  for (const s of statements(program)) {
    for (const m of s.code.matchAll(HISTOGRAM_CALL)) map(m[2]).histogram = m[1] as 'hist' | 'lhist';
    const a = ASSIGNMENT.exec(s.code);
    if (a) {
      const info = map(a[1]);
      const value = lastType(a[3], s.comments);
      if (value && !isPlain(value)) info.value = value;
      const scalar = !a[2] || SCALAR_KEY.test(stripMarks(a[2]).replace(/\s+/g, ''));
      info.scalar = (info.scalar ?? true) && scalar;
      continue;
    }
    const p = PRINT.exec(s.code);
    if (p) {
      const arg = firstArgument(p[1]);
      if (/^@\w*$/.test(stripMarks(arg))) continue;
      types.prints.push(lastType(arg, s.comments) ?? PLAIN);
    }
  }
  markEmptyAtExit(types, statements(program));
  for (const m of program.matchAll(/(@\w+|@)(?=\s*\[)/g)) {
    const info = types.maps.get(m[1]);
    // A map indexed anywhere but by 0.27's own scalar key is keyed.
    if (info && !SCALAR_KEY.test(stripMarks(keyAt(program, m.index + m[0].length)).replace(/\s+/g, ''))) info.scalar = false;
  }
  return types;
}

/**
 * A map is empty at exit when every probe that mentions it (but to print it) clears it at the
 * probe's own level, not under a condition, after its last mention there.
 */
function markEmptyAtExit(types: ProgramTypes, all: Statement[]): void {
  const writes = new Map<string, Map<number, number>>();
  const clears = new Map<string, Map<number, number>>();
  const note = (into: Map<string, Map<number, number>>, name: string, s: Statement, i: number) =>
    (into.get(name) ?? into.set(name, new Map()).get(name)!).set(s.probe, i);
  all.forEach((s, i) => {
    const code = stripMarks(s.code);
    const clear = /^clear\(\s*(@\w*)\s*\)$/.exec(code);
    if (clear) {
      if (s.depth === 1) note(clears, clear[1], s, i);
      return;
    }
    if (/^print\s*\(\s*@\w*\s*(?:,[^,]*){0,2}\)$/.test(code)) return;
    // Any other mention counts as a write: a read that is not one only makes the guess safer.
    for (const m of code.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/@\w*/g)) note(writes, m[0], s, i);
  });
  for (const [name, byProbe] of writes) {
    const cleared = clears.get(name);
    const empty = [...byProbe].every(([probe, last]) => (cleared?.get(probe) ?? -1) > last);
    if (empty) (types.maps.get(name) ?? types.maps.set(name, {}).get(name)!).emptyAtExit = true;
  }
}

/** The bracketed key that starts at `i` (or the empty string). */
function keyAt(s: string, i: number): string {
  let j = i;
  while (/\s/.test(s[j] ?? '')) j++;
  if (s[j] !== '[') return '';
  const c = closing(
    s.replace(/\/\*[\s\S]*?\*\//g, (m) => ' '.repeat(m.length)),
    j,
  );
  return c < 0 ? '' : s.slice(j, c + 1).replace(/\/\*[\s\S]*?\*\//g, '');
}

function firstArgument(args: string): string {
  let depth = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < args.length && args[j] !== '"') j += args[j] === '\\' ? 2 : 1;
      i = j;
    } else if (c === ',' && depth === 0) return args.slice(0, i);
  }
  return args;
}

const COMMENT_OR_STRING = /"(?:[^"\\\n]|\\.)*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;

/**
 * The best guess from a program's source, where bpftrace gives no types (before 0.25, or when
 * its stdout is not the trace's): a value assigned or printed straight from buf(), an enum
 * constant or an enum cast (directly or through a variable); lhist() and hist() maps; maps
 * never indexed. Anything else (a buffer in a tuple, a pointer, an array) prints as its JSON.
 */
export function typesOfSource(source: string): ProgramTypes {
  const types: ProgramTypes = { maps: new Map(), prints: [], enums: enumsOf(source), fromBpftrace: false };
  const code = source.replace(COMMENT_OR_STRING, (m) => (m.startsWith('"') ? m : ' '));
  const map = (name: string) => types.maps.get(name) ?? types.maps.set(name, {}).get(name)!;
  for (const m of code.replace(/"(?:[^"\\\n]|\\.)*"/g, '""').matchAll(/(@\w+|@)(?!\w)(\s*\[)?/g)) {
    const info = map(m[1]);
    info.scalar = (info.scalar ?? true) && !m[2];
  }
  for (const m of code.matchAll(HISTOGRAM_ASSIGNMENT)) map(m[1]).histogram = m[2] as 'hist' | 'lhist';
  // 0.23 takes true and false as the constants of an enum (text mode prints their names, JSON
  // 1 and 0); later versions write a real boolean, which no enum type changes.
  types.enums.set(BOOLEAN_ENUM, new Map(BOOLEAN_NAMES));
  const constants = new Map<string, string>([
    ['true', BOOLEAN_ENUM],
    ['false', BOOLEAN_ENUM],
  ]);
  for (const [name, values] of types.enums) for (const constant of values.values()) constants.set(constant, name);
  const variables = new Map<string, ValueType>();
  const typeOf = (expr: string): ValueType => {
    const e = expr.trim();
    if (/^buf\s*\(/.test(e)) return { kind: 'buffer' };
    const cast = /^\(\s*enum\s+(\w+)\s*\)/.exec(e);
    if (cast) return { kind: 'enum', name: cast[1] };
    if (/^\(\s*(?:struct\s+|union\s+)?\w+\s*\*+\s*\)/.test(e)) return { kind: 'pointer' };
    if (constants.has(e)) return { kind: 'enum', name: constants.get(e)! };
    return variables.get(e) ?? PLAIN;
  };
  for (const s of statements(code)) {
    const v = /^\s*(\$\w+)\s*=(?!=)([\s\S]*)$/.exec(s.code);
    if (v) variables.set(v[1], typeOf(v[2]));
    const a = ASSIGNMENT.exec(s.code);
    if (a && !isPlain(typeOf(a[3]))) map(a[1]).value = typeOf(a[3]);
    // Up to 0.23 JSON writes an enum key as its value, where text mode names it.
    if (a?.[2] && typeOf(a[2].slice(1, -1)).kind === 'enum') map(a[1]).key = typeOf(a[2].slice(1, -1));
    const p = PRINT.exec(s.code);
    if (p && !/^@\w*$/.test(firstArgument(p[1]).trim())) types.prints.push(typeOf(firstArgument(p[1])));
  }
  return types;
}

const BOOLEAN_ENUM = ' boolean';
const BOOLEAN_NAMES = new Map<bigint, string>([
  [0n, 'false'],
  [1n, 'true'],
]);

/** `enum Name { A = 1, B }`: each name by value, counting on from the last given value as C does. */
function enumsOf(program: string): Map<string, Map<bigint, string>> {
  const enums = new Map<string, Map<bigint, string>>();
  for (const m of program.matchAll(ENUM)) {
    const values = new Map<bigint, string>();
    let next = 0n;
    for (const item of m[2].split(',')) {
      const e = /^\s*(\w+)\s*(?:=\s*(-?(?:0x[0-9a-fA-F]+|\d+)))?\s*$/.exec(item.replace(/\/\*[\s\S]*?\*\//g, ''));
      if (!e) continue;
      if (e[2] !== undefined) next = BigInt(e[2]);
      if (!values.has(BigInt.asUintN(64, next))) values.set(BigInt.asUintN(64, next), e[1]);
      next++;
    }
    enums.set(m[1], values);
  }
  return enums;
}

/** Whether a JSON value can be of a type (a print()'s value is matched to its statement so). */
export function fits(v: unknown, t: ValueType): boolean {
  switch (t.kind) {
    case 'buffer':
      return typeof v === 'string' || (Array.isArray(v) && v.every((b) => typeof b === 'number'));
    case 'pointer':
    case 'enum':
      return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
    case 'tuple':
      return Array.isArray(v) && v.length === t.elements.length && v.every((x, i) => fits(x, t.elements[i]));
    case 'array':
      return Array.isArray(v) && v.every((x) => fits(x, t.element));
    case 'record':
      return isObject(v) && Object.keys(v).join() === t.fields.map((f) => f.name).join();
    case 'struct':
      return isObject(v);
    case 'plain':
      return fitsPlain(v, t.text);
  }
}

function fitsPlain(v: unknown, text: string): boolean {
  if (!text) return true;
  if (/^u?int\d+$/.test(text)) return typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v));
  if (text === 'bool') return typeof v === 'boolean';
  return !Array.isArray(v) && !isObject(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
