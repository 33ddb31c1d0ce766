import { EventEmitter } from 'node:events';
import { classifyStderr, type StderrLevel, type TypedMap } from './bpftrace-output.js';
import type { Limits } from '../manifest/types.js';

export type ExecutionStatus = 'queued' | 'running' | 'completed' | 'failed' | 'stopped' | 'timed_out';
export type StopReason = 'stop' | 'cancel' | 'timeout' | 'duration' | 'shutdown';

export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'stopped', 'timed_out']);

export interface StderrLine {
  text: string;
  level: StderrLevel;
}

const MAX_STDERR_LINES = 2000;

/**
 * One run of one tool: its status, its bounded output and its typed maps. The process
 * lifecycle writes to it; get_result and the CLI read from it. Emits 'change' on every update
 * and 'end' once.
 */
export class Execution extends EventEmitter {
  status: ExecutionStatus = 'queued';
  /** What is happening inside a status, e.g. "stopping: SIGINT sent, waiting for maps and detach". */
  phase = 'queued';
  readonly createdAt = Date.now();
  startedAt?: number;
  attachedAt?: number;
  endedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  error?: string;
  hint?: string;
  stopReason?: StopReason;
  killed = false;
  pid?: number;
  attachedProbes?: number;
  lostEvents = 0;
  variant?: string;

  readonly lines: string[] = [];
  private bytes = 0;
  droppedLines = 0;
  droppedBytes = 0;
  readonly stderr: StderrLine[] = [];
  droppedStderr = 0;
  /** Latest value of each printed map, always complete regardless of the line caps. */
  readonly maps = new Map<string, TypedMap>();
  /** Maps whose latest print did not fit in `lines`; re-rendered at the end. */
  private readonly mapsMissingFromLines = new Map<string, string[]>();
  /** Where each printed map starts in `lines`, so a terminal can render it as a table. */
  readonly mapPrints = new Map<number, { map: TypedMap; count: number }>();

  constructor(
    readonly id: string,
    readonly tool: string,
    readonly limits: Limits['output'],
    /** Human-readable command, for listings. Never executed as a string. */
    readonly commandLine: string,
  ) {
    super();
    this.setMaxListeners(100);
  }

  /** Bytes of output lines kept. */
  get storedBytes(): number {
    return this.bytes;
  }

  get finished(): boolean {
    return FINAL_STATUSES.has(this.status);
  }

  durationMs(now = Date.now()): number | undefined {
    return this.startedAt === undefined ? undefined : (this.endedAt ?? now) - this.startedAt;
  }

  /** Appends a line unless the caps are reached; returns whether it was kept. */
  pushLine(text: string, pinned = false): boolean {
    return this.pushSized(text, Buffer.byteLength(text) + 1, pinned);
  }

  private pushSized(text: string, size: number, pinned: boolean): boolean {
    if (!pinned && (this.lines.length >= this.limits.max_lines || this.bytes + size > this.limits.max_bytes)) {
      this.droppedLines++;
      this.droppedBytes += size;
      return false;
    }
    this.lines.push(text);
    this.bytes += size;
    return true;
  }

  /**
   * A map print is kept whole or held back whole. A held-back print is appended at the end if
   * it is still the latest for its map; one superseded by a later print counts as dropped.
   */
  pushMap(map: TypedMap, lines: string[]): void {
    this.maps.set(map.name, map);
    const superseded = this.mapsMissingFromLines.get(map.name);
    if (superseded) {
      this.mapsMissingFromLines.delete(map.name);
      this.droppedLines += superseded.length;
      this.droppedBytes += superseded.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    }
    const sizes = lines.map((l) => Buffer.byteLength(l) + 1);
    const size = sizes.reduce((n, x) => n + x, 0);
    if (this.lines.length + lines.length <= this.limits.max_lines && this.bytes + size <= this.limits.max_bytes) {
      this.mapPrints.set(this.lines.length, { map, count: lines.length });
      lines.forEach((l, i) => this.pushSized(l, sizes[i], true));
    } else {
      this.mapsMissingFromLines.set(map.name, lines);
    }
  }

  pushStderr(text: string): StderrLine {
    const line = { text, level: classifyStderr(text) };
    if (this.stderr.length < MAX_STDERR_LINES) this.stderr.push(line);
    else this.droppedStderr++;
    return line;
  }

  /** The final map output is always kept: maps cut by the caps are appended past them. */
  pinFinalMaps(): void {
    for (const [name, lines] of this.mapsMissingFromLines) {
      this.mapPrints.set(this.lines.length, { map: this.maps.get(name)!, count: lines.length });
      for (const l of lines) this.pushLine(l, true);
    }
    this.mapsMissingFromLines.clear();
  }

  changed(): void {
    this.emit('change');
  }
}
