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
  time: /^\d{1,2}:\d{2}:\d{2}(\.\d+)?$/,
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
    const values: string[] = [];
    let rest = line.trimStart();
    for (let i = 0; i < header.length - 1; i++) {
      const m = /^(\S+)\s*/.exec(rest);
      if (!m) return undefined;
      values.push(m[1]);
      rest = rest.slice(m[0].length);
    }
    const last = rest.trimEnd();
    if (!last) return undefined;
    values.push(last);
    const row: Row = {};
    for (const [i, c] of header.entries()) {
      if (c.type === 'skip') continue;
      if (!VALUE_PATTERNS[c.type].test(values[i])) return undefined;
      row[c.key] = c.type === 'int' || c.type === 'float' ? Number(values[i]) : values[i];
    }
    return row;
  }
}
