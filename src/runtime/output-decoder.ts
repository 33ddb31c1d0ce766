/**
 * The seam between a process's raw output and an Execution. The lifecycle feeds every stdout
 * and stderr line to the run's decoder and applies the events it returns; it never knows
 * whether the process was bpftrace, a libbpf tool or anything else. A kind supplies its
 * decoder (a bcc output parser is one).
 */

export interface HistBucket {
  min?: number;
  max?: number;
  count: number;
}

/** As bpftrace's JSON types a printed map; `tseries` since 0.24. */
export type MapEventType = 'map' | 'hist' | 'stats' | 'tseries';

/** The latest printed value of one map, as bpftrace typed it. */
export interface TypedMap {
  type: MapEventType;
  name: string;
  value: unknown;
  /**
   * The keys of a keyed map in the order bpftrace printed them (by value), when `value`
   * cannot keep that order: a JS object puts integer-like keys first, ascending.
   */
  keys?: string[];
}

/** The type of a tool's column, as a table's reader needs it. */
export type ColumnType = 'int' | 'float' | 'string' | 'time';

export interface Column {
  name: string;
  type: ColumnType;
}

/** One event of a tool that prints a table: column name to typed value. */
export type Row = Record<string, string | number>;

/** A histogram a tool printed: power-of-two (or linear) buckets, `high` inclusive. */
export interface Histogram {
  name: string;
  unit: string;
  buckets: { low: number; high: number; count: number }[];
}

export type OutputEvent =
  /** One complete output line. */
  | { kind: 'text'; text: string }
  /** A printed map: its typed value and the text lines bpftrace would print for it. */
  | { kind: 'map'; map: TypedMap; lines: string[] }
  | { kind: 'lost'; events: number }
  /** The probes are really attached: a stop may now send SIGINT (an earlier one is lost). */
  | { kind: 'attached'; probes?: number }
  /** A diagnostic line for the run's stderr. */
  | { kind: 'stderr'; text: string }
  /** Something the run's reader should know about its output (a line that could not be decoded). */
  | { kind: 'warning'; text: string }
  /** A table's header line: the columns of the rows that follow. */
  | { kind: 'columns'; columns: Column[]; text: string }
  /** One line of a table, typed. */
  | { kind: 'row'; row: Row; text: string }
  /** A printed histogram and its text lines. */
  | { kind: 'histogram'; histogram: Histogram; lines: string[] };

export interface OutputDecoder {
  stdout(line: string): OutputEvent[];
  stderr(line: string): OutputEvent[];
  /** At end of stream: whatever was held back (a partial line). */
  end(): OutputEvent[];
}

/** Plain text: every stdout line is output, every stderr line a diagnostic. */
export class TextDecoder implements OutputDecoder {
  stdout(line: string): OutputEvent[] {
    return [{ kind: 'text', text: line }];
  }

  stderr(line: string): OutputEvent[] {
    return [{ kind: 'stderr', text: line }];
  }

  end(): OutputEvent[] {
    return [];
  }
}
