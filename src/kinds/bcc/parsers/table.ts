import type { Column, ColumnType, Row } from '../../../runtime/output-decoder.js';

/** A header name as a row key: lower case, `%` spelled out, anything else not alphanumeric an underscore. */
export function columnKey(header: string): string {
  return header
    .replaceAll('%', 'pct_')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

const VALUE_PATTERNS: Record<ColumnType, RegExp> = {
  int: /^-?\d+$/,
  float: /^-?\d+(\.\d+)?$/,
  // vfsstat and a few others end the time with a colon ("00:15:45:").
  time: /^\d{1,2}:\d{2}:\d{2}(\.\d+)?:?$/,
  string: /^/,
};

interface HeaderColumn {
  key: string;
  type: ColumnType | 'skip';
}

/**
 * The column-table parser of a bcc/libbpf tool: a line made only of known header names starts a
 * table, and each line after it that has a value of the right type in every column is a row.
 * Values are split on white space, as the tools print them padded; the last column takes the
 * rest of the line, since it is the free text (ARGS, PATH, HOST). A line that does not fit is
 * plain text: a tool's banner, a `[12:00:01]` interval mark, a comm with a space in it.
 */
export class TableParser {
  private header?: HeaderColumn[];

  constructor(private readonly types: Readonly<Record<string, ColumnType | 'skip'>>) {}

  /** The columns when `line` is a header, else undefined. */
  readHeader(line: string): Column[] | undefined {
    const names = line.trim().split(/\s+/);
    if (names.length < 2 || !names.every((n) => Object.hasOwn(this.types, n))) return undefined;
    this.header = names.map((n) => ({ key: columnKey(n), type: this.types[n] }));
    return this.header.filter((c) => c.type !== 'skip').map((c) => ({ name: c.key, type: c.type as ColumnType }));
  }

  /** The typed row when `line` is one of the current table's rows, else undefined. */
  row(line: string): Row | undefined {
    const header = this.header;
    if (!header) return undefined;
    const tokens = line.trim().split(/\s+/);
    const lastStart = (n: number) => {
      // Where the n-th token starts in the line, so the last column keeps its inner spacing.
      let at = line.length - line.trimStart().length;
      for (let i = 0; i < n; i++) at = line.indexOf(tokens[i], at) + tokens[i].length;
      return line.indexOf(tokens[n], at);
    };
    if (tokens.length < header.length || !tokens[0]) return undefined;
    // A command name may hold spaces ("npm run lint"): when the plain split does not type,
    // one text column at a time takes one, two or three more words.
    const attempt = (col: number, extra: number) => {
      if (tokens.length < header.length + extra) return undefined;
      const values = tokens.slice(0, header.length - 1 + extra);
      if (extra) values.splice(col, extra + 1, values.slice(col, col + extra + 1).join(' '));
      values.push(line.slice(lastStart(header.length - 1 + extra)).trimEnd());
      return typed(header, values);
    };
    const plain = attempt(0, 0);
    if (plain) return plain;
    for (const [col, c] of header.slice(0, -1).entries()) {
      if (c.type !== 'string') continue;
      for (let extra = 1; extra <= 3; extra++) {
        const row = attempt(col, extra);
        if (row) return row;
      }
    }
    return undefined;
  }
}

function typed(header: HeaderColumn[], values: string[]): Row | undefined {
  const row: Row = {};
  for (const [i, c] of header.entries()) {
    if (c.type === 'skip') continue;
    if (!VALUE_PATTERNS[c.type].test(values[i])) return undefined;
    row[c.key] = c.type === 'int' || c.type === 'float' ? Number(values[i]) : c.type === 'time' ? values[i].replace(/:$/, '') : values[i];
  }
  return row;
}
