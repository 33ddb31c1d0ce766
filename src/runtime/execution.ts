import { EventEmitter } from 'node:events';
import { MAX_STDERR_LINES, type ToolLimits } from '../config/defaults.js';
import { classifyStderr, type StderrLevel } from './bpftrace/notices.js';
import type { OutputEvent, TypedMap } from './output-decoder.js';
import type { OutputSink } from './output-files.js';

export type ExecutionStatus = 'queued' | 'running' | 'completed' | 'failed' | 'stopped' | 'timed_out';
export type StopReason = 'stop' | 'cancel' | 'timeout' | 'duration' | 'shutdown';

/** What is happening inside a status. */
export type ExecutionPhase =
  | 'queued'
  | 'running'
  | 'attached'
  /** A stop came before the probes attached: SIGINT is held until they are (an earlier one is lost). */
  | 'stop-held'
  /** SIGINT sent: the tracer prints its maps and detaches. */
  | 'stopping'
  /** The grace period ended: SIGKILL sent. */
  | 'killing'
  | 'ended'
  | 'ended-killed'
  | 'ended-error';

export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'stopped', 'timed_out']);

export interface StderrLine {
  text: string;
  level: StderrLevel;
}

export interface MapPrint {
  map: TypedMap;
  count: number;
}

/** Everything a reader may know about a run; the live Execution and a stored record both have it. */
export interface ExecutionState {
  readonly id: string;
  readonly tool: string;
  /** Human-readable command, for listings. Never executed as a string. */
  readonly commandLine: string;
  readonly variant?: string;
  readonly limits: ToolLimits['output'];
  readonly status: ExecutionStatus;
  readonly phase: ExecutionPhase;
  readonly stopReason?: StopReason;
  readonly graceMs?: number;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly attachedAt?: number;
  readonly endedAt?: number;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly error?: string;
  readonly hint?: string;
  readonly killed: boolean;
  readonly pid?: number;
  readonly attachedProbes?: number;
  readonly lostEvents: number;
  readonly lines: readonly string[];
  readonly droppedLines: number;
  readonly droppedBytes: number;
  readonly stderr: readonly StderrLine[];
  readonly droppedStderr: number;
  /** Latest value of each printed map, always complete regardless of the line caps. */
  readonly maps: ReadonlyMap<string, TypedMap>;
  /** Where each printed map starts in `lines`, so a terminal can render it as a table. */
  readonly mapPrints: ReadonlyMap<number, MapPrint>;
  /** Lines in the file that holds the whole output, once output overflowed the caps. */
  readonly overflowLines?: number;
}

/** A serialisable snapshot of a run (for a store that outlives the process). */
export type ExecutionRecord = Omit<ExecutionState, 'maps' | 'mapPrints'> & {
  maps: TypedMap[];
  mapPrints: [number, MapPrint][];
};

export const isFinished = (s: Pick<ExecutionState, 'status'>): boolean => FINAL_STATUSES.has(s.status);

export const durationMs = (s: Pick<ExecutionState, 'startedAt' | 'endedAt'>, now = Date.now()): number | undefined =>
  s.startedAt === undefined ? undefined : (s.endedAt ?? now) - s.startedAt;

/**
 * One run of one tool: its status, its bounded output and its typed maps. Its state changes
 * only through the methods below, which the process lifecycle and the runner call; readers
 * see ExecutionState. Emits 'change' on every update and 'end' once.
 */
export class Execution extends EventEmitter implements ExecutionState {
  readonly createdAt = Date.now();
  private s: {
    status: ExecutionStatus;
    phase: ExecutionPhase;
    stopReason?: StopReason;
    graceMs?: number;
    startedAt?: number;
    attachedAt?: number;
    endedAt?: number;
    exitCode?: number | null;
    signal?: string | null;
    error?: string;
    hint?: string;
    killed: boolean;
    pid?: number;
    attachedProbes?: number;
    lostEvents: number;
  } = { status: 'queued', phase: 'queued', killed: false, lostEvents: 0 };

  private readonly out: string[] = [];
  private bytes = 0;
  private dropped = { lines: 0, bytes: 0, stderr: 0 };
  private readonly errs: StderrLine[] = [];
  private readonly typedMaps = new Map<string, TypedMap>();
  /** Maps whose latest print did not fit in `lines`; re-rendered at the end. */
  private readonly mapsMissingFromLines = new Map<string, string[]>();
  private readonly prints = new Map<number, MapPrint>();
  /**
   * Set by the runner: opens the file that receives the whole output once it overflows the caps
   * (then every line goes there too, so the run can be read whole as a resource).
   */
  overflow?: () => OutputSink;
  private sink?: OutputSink;

  constructor(
    readonly id: string,
    readonly tool: string,
    readonly limits: ToolLimits['output'],
    readonly commandLine: string,
    readonly variant?: string,
  ) {
    super();
    this.setMaxListeners(100);
  }

  get status(): ExecutionStatus {
    return this.s.status;
  }
  get phase(): ExecutionPhase {
    return this.s.phase;
  }
  get stopReason(): StopReason | undefined {
    return this.s.stopReason;
  }
  get graceMs(): number | undefined {
    return this.s.graceMs;
  }
  get startedAt(): number | undefined {
    return this.s.startedAt;
  }
  get attachedAt(): number | undefined {
    return this.s.attachedAt;
  }
  get endedAt(): number | undefined {
    return this.s.endedAt;
  }
  get exitCode(): number | null | undefined {
    return this.s.exitCode;
  }
  get signal(): string | null | undefined {
    return this.s.signal;
  }
  get error(): string | undefined {
    return this.s.error;
  }
  get hint(): string | undefined {
    return this.s.hint;
  }
  get killed(): boolean {
    return this.s.killed;
  }
  get pid(): number | undefined {
    return this.s.pid;
  }
  get attachedProbes(): number | undefined {
    return this.s.attachedProbes;
  }
  get lostEvents(): number {
    return this.s.lostEvents;
  }
  get lines(): readonly string[] {
    return this.out;
  }
  get droppedLines(): number {
    return this.dropped.lines;
  }
  get droppedBytes(): number {
    return this.dropped.bytes;
  }
  get stderr(): readonly StderrLine[] {
    return this.errs;
  }
  get droppedStderr(): number {
    return this.dropped.stderr;
  }
  get maps(): ReadonlyMap<string, TypedMap> {
    return this.typedMaps;
  }
  get mapPrints(): ReadonlyMap<number, MapPrint> {
    return this.prints;
  }
  /** Bytes of output lines kept. */
  get storedBytes(): number {
    return this.bytes;
  }
  get finished(): boolean {
    return isFinished(this);
  }

  durationMs(now = Date.now()): number | undefined {
    return durationMs(this, now);
  }

  /** It has a slot and its process is being started: no longer queued. */
  spawning(): void {
    if (this.s.status !== 'queued') return;
    Object.assign(this.s, { status: 'running', phase: 'running', startedAt: Date.now() });
  }

  /** The process was spawned. */
  started(pid: number | undefined): void {
    this.spawning();
    this.s.pid = pid;
    this.changed();
  }

  /** A stop was asked for; `held` when SIGINT must wait for the probes to attach. */
  stopping(reason: StopReason, graceMs: number, held: boolean): void {
    Object.assign(this.s, { stopReason: reason, graceMs, phase: held ? 'stop-held' : 'stopping' });
    this.changed();
  }

  /** A held SIGINT has now been sent. */
  sigintSent(): void {
    this.s.phase = 'stopping';
    this.changed();
  }

  /** The grace period ended and SIGKILL was sent. */
  killing(): void {
    Object.assign(this.s, { killed: true, phase: 'killing' });
    this.changed();
  }

  /** How the process ended. */
  exited(exitCode: number | null, signal: string | null): void {
    Object.assign(this.s, { exitCode, signal });
  }

  /** Applies one decoded output event. */
  apply(ev: OutputEvent): void {
    switch (ev.kind) {
      case 'text':
        this.record([ev.text], this.pushLine(ev.text));
        return;
      case 'map': {
        const before = this.out.length;
        this.pushMap(ev.map, ev.lines);
        this.record(ev.lines, this.out.length > before);
        return;
      }
      case 'lost':
        this.s.lostEvents += ev.events;
        return;
      case 'attached':
        this.s.attachedAt ??= Date.now();
        if (ev.probes !== undefined) this.s.attachedProbes = ev.probes;
        if (this.s.phase === 'running') this.s.phase = 'attached';
        return;
      case 'stderr':
        this.pushStderr(ev.text);
        return;
    }
  }

  /** Lines of the whole output kept in the overflow file; undefined while everything fits in memory. */
  get overflowLines(): number | undefined {
    return this.sink?.lines;
  }

  /** Until the first line is cut, memory holds the whole output; from then on the file does. */
  private record(lines: readonly string[], kept: boolean): void {
    if (!this.sink) {
      if (kept || !this.overflow) return;
      this.sink = this.overflow();
      this.sink.write(this.out);
    }
    this.sink.write(lines);
  }

  /** Appends a line unless the caps are reached; returns whether it was kept. */
  pushLine(text: string, pinned = false): boolean {
    return this.pushSized(text, Buffer.byteLength(text) + 1, pinned);
  }

  private pushSized(text: string, size: number, pinned: boolean): boolean {
    if (!pinned && (this.out.length >= this.limits.max_lines || this.bytes + size > this.limits.max_bytes)) {
      this.dropped.lines++;
      this.dropped.bytes += size;
      return false;
    }
    this.out.push(text);
    this.bytes += size;
    return true;
  }

  /**
   * A map print is kept whole or held back whole. A held-back print is appended at the end if
   * it is still the latest for its map; one superseded by a later print counts as dropped.
   */
  pushMap(map: TypedMap, lines: string[]): void {
    this.typedMaps.set(map.name, map);
    const superseded = this.mapsMissingFromLines.get(map.name);
    if (superseded) {
      this.mapsMissingFromLines.delete(map.name);
      this.dropped.lines += superseded.length;
      this.dropped.bytes += superseded.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    }
    const sizes = lines.map((l) => Buffer.byteLength(l) + 1);
    const size = sizes.reduce((n, x) => n + x, 0);
    if (this.out.length + lines.length <= this.limits.max_lines && this.bytes + size <= this.limits.max_bytes) {
      this.prints.set(this.out.length, { map, count: lines.length });
      lines.forEach((l, i) => this.pushSized(l, sizes[i], true));
    } else {
      this.mapsMissingFromLines.set(map.name, lines);
    }
  }

  pushStderr(text: string): StderrLine {
    const line = { text, level: classifyStderr(text) };
    if (this.errs.length < MAX_STDERR_LINES) this.errs.push(line);
    else this.dropped.stderr++;
    return line;
  }

  /**
   * Sets the final status once: the final map output is pinned first (maps cut by the caps
   * are appended past them), so every reader of a finished run sees it.
   */
  finish(status: Exclude<ExecutionStatus, 'queued' | 'running'>, error?: string, hint?: string): void {
    if (this.finished) return;
    for (const [name, lines] of this.mapsMissingFromLines) {
      this.prints.set(this.out.length, { map: this.typedMaps.get(name)!, count: lines.length });
      for (const l of lines) this.pushLine(l, true);
    }
    this.mapsMissingFromLines.clear();
    Object.assign(this.s, {
      status,
      error,
      hint,
      endedAt: Date.now(),
      phase: status === 'failed' ? 'ended-error' : this.s.killed ? 'ended-killed' : 'ended',
    });
    this.changed();
    this.emit('end');
  }

  /** A run stopped before its process started ends at once. */
  cancelQueued(reason: StopReason): void {
    this.s.stopReason = reason;
    this.finish(reason === 'timeout' ? 'timed_out' : 'stopped');
  }

  toRecord(): ExecutionRecord {
    return {
      id: this.id,
      tool: this.tool,
      commandLine: this.commandLine,
      variant: this.variant,
      limits: { ...this.limits },
      createdAt: this.createdAt,
      ...structuredClone(this.s),
      lines: [...this.out],
      droppedLines: this.dropped.lines,
      droppedBytes: this.dropped.bytes,
      stderr: this.errs.map((l) => ({ ...l })),
      droppedStderr: this.dropped.stderr,
      maps: [...this.typedMaps.values()].map((m) => structuredClone(m)),
      mapPrints: [...this.prints.entries()].map(([i, p]) => [i, structuredClone(p)]),
    };
  }

  changed(): void {
    this.emit('change');
  }
}
