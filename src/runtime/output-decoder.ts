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

export type OutputEvent =
  /** One complete output line. */
  | { kind: 'text'; text: string }
  /** A printed map: its typed value and the text lines bpftrace would print for it. */
  | { kind: 'map'; map: TypedMap; lines: string[] }
  | { kind: 'lost'; events: number }
  /** The probes are really attached: a stop may now send SIGINT (an earlier one is lost). */
  | { kind: 'attached'; probes?: number }
  /** A diagnostic line for the run's stderr. */
  | { kind: 'stderr'; text: string };

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
