import { EventEmitter } from 'node:events';
import {
  MAX_COMMAND_OUTPUT_LINES,
  MAX_DIAGNOSTIC_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_RUN_WARNINGS,
  MAX_STDERR_BYTES,
  MAX_STDERR_LINES,
  type ToolLimits,
} from '../config/defaults.js';
import { classifyStderr, type StderrLevel } from './bpftrace/notices.js';
import type { Column, Histogram, OutputEvent, Row, TypedMap } from './output-decoder.js';
import type { OutputSink } from './output-files.js';

/** One error of a failed compile, in the validator's taxonomy (validate_program's errors). */
export interface CompileError {
  category: string;
  message: string;
  line: number | null;
  column: number | null;
  snippet: string | null;
  suggestion: string | null;
}

/**
 * `interrupted` is only ever read from the history: the process that ran the run ended (a crash,
 * a SIGKILL) before it did, so its last recorded output is all there is.
 */
export type ExecutionStatus = 'queued' | 'running' | 'completed' | 'failed' | 'stopped' | 'timed_out' | 'interrupted';
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

export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'stopped', 'timed_out', 'interrupted']);

export interface StderrLine {
  text: string;
  level: StderrLevel;
}

export interface MapPrint {
  map: TypedMap;
  count: number;
}

/** A decoded map's memory over its printed text's size (measured: ~5.8 MB for a 65,536-key map). */
const MAP_MEMORY_FACTOR = 4;

/** Everything a reader may know about a run; the live Execution and a stored record both have it. */
export interface ExecutionState {
  readonly id: string;
  readonly tool: string;
  /** Human-readable command, for listings. Never executed as a string. */
  readonly commandLine: string;
  readonly variant?: string;
  /** What ran, in a few words: a program's first line, or a tool's input. */
  readonly summary?: string;
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
  /** A failed compile's errors, located and with fixes. */
  readonly errors?: readonly CompileError[];
  readonly killed: boolean;
  readonly pid?: number;
  readonly attachedProbes?: number;
  /** exec_program's attempt_of: the run this one retries, and the attempt's number. */
  readonly attemptOf?: string;
  readonly attempt?: number;
  /** Warnings from the pre-run hooks (the safety policy's "warn" findings). */
  readonly preRunWarnings?: readonly string[];
  /** What went wrong with the output while the run went on, and what the caller lost by it. */
  readonly runWarnings?: readonly string[];
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
  /** The last lines the traced command (bpftrace -c) wrote, kept apart from the trace. */
  readonly commandOutput: readonly string[];
  readonly droppedCommandOutput: number;
  /** The columns of the latest table header, for a tool that prints one (bcc tools). */
  readonly columns?: readonly Column[];
  /** Typed rows of that table, each with the index of its line in `lines`; bounded as lines are. */
  readonly rows?: readonly LineRow[];
  /** The latest print of each histogram, complete regardless of the line caps. */
  readonly histograms?: readonly Histogram[];
  /** Lines in the file that holds the whole output, once output overflowed the caps. */
  readonly overflowLines?: number;
  /** Providers the kernel refused at start-up before `variant` ran (a bcc tool's fallback), in order. */
  readonly refusedProviders?: readonly RefusedProvider[];
  /** The host this run traced, when it ran on another one (a fleet run's member). */
  readonly host?: string;
  /** A fleet run: each host's own run, and how it went. */
  readonly fleet?: readonly FleetHostState[];
}

/** One host of a fleet run. */
export interface FleetHostState {
  host: string;
  /** The host's own run (absent when it never started: unreachable, refused). */
  execution_id?: string;
  status: ExecutionStatus;
  error?: string;
  hint?: string;
  bpftrace_version?: string;
  kernel?: string;
}

/** A provider the kernel refused as it started (load or attach), and mcptrace's diagnosis of it. */
export interface RefusedProvider {
  variant: string;
  command: string;
  exitCode: number | null;
  error: string;
  hint?: string;
  /** Its last stderr lines, as it printed them. */
  stderr: string[];
}

/**
 * Sees every output line as it arrives, kept or not: a terminal streams the whole trace while
 * the run itself keeps only what its caps allow.
 */
export interface OutputTap {
  lines(lines: readonly string[], map?: TypedMap): void;
  command?(line: string): void;
}

/** A typed row and the output line it was read from. */
export interface LineRow {
  line: number;
  row: Row;
}

/** A run as every reader sees it: a live Execution of this process, or one read from the history. */
export interface RunState extends ExecutionState {
  readonly finished: boolean;
  /** How many lines it has, when `lines` was left out (a listing of stored runs). */
  readonly lineCount?: number;
  durationMs(now?: number): number | undefined;
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
export class Execution extends EventEmitter implements RunState {
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
    errors?: readonly CompileError[];
    killed: boolean;
    pid?: number;
    attachedProbes?: number;
    lostEvents: number;
    host?: string;
    fleet?: FleetHostState[];
  } = { status: 'queued', phase: 'queued', killed: false, lostEvents: 0 };

  private readonly out: string[] = [];
  private bytes = 0;
  private dropped = { lines: 0, bytes: 0, stderr: 0 };
  private readonly errs: StderrLine[] = [];
  private readonly typedMaps = new Map<string, TypedMap>();
  /** Maps whose latest print did not fit in `lines`; re-rendered at the end. */
  private readonly mapsMissingFromLines = new Map<string, string[]>();
  private readonly prints = new Map<number, MapPrint>();
  private readonly command: string[] = [];
  private readonly mapTextBytes = new Map<string, number>();
  private stderrBytes = 0;
  private droppedCommand = 0;
  private tap?: OutputTap;
  private header?: Column[];
  private readonly tableRows: LineRow[] = [];
  private readonly hists = new Map<string, Histogram>();
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
    // Both change once, should the kernel refuse this provider and the next one run (nextProvider).
    public commandLine: string,
    public variant?: string,
    readonly summary?: string,
  ) {
    super();
    this.setMaxListeners(100);
  }

  /** The run this one retries, and this run's place in that chain (1 for a first attempt). */
  attemptOf?: string;
  attempt = 1;
  preRunWarnings: readonly string[] = [];
  private readonly warned: string[] = [];

  get runWarnings(): readonly string[] {
    return this.warned;
  }

  /** A warning about this run's output; repeats are said once, and a flood is bounded. */
  warn(message: string): void {
    if (this.warned.includes(message)) return;
    if (this.warned.length < MAX_RUN_WARNINGS) this.warned.push(message);
    else if (this.warned.length === MAX_RUN_WARNINGS) this.warned.push('further warnings about this run were not kept');
  }

  private refused: RefusedProvider[] = [];
  get refusedProviders(): readonly RefusedProvider[] {
    return this.refused;
  }

  /**
   * The kernel refused this run's provider as it started, and `variant` runs next in the same
   * run: the refusal is kept, and what belonged to the refused process (its stderr, exit, a
   * planned stop whose timer it no longer has) is cleared. The run has printed nothing yet.
   */
  nextProvider(refused: RefusedProvider, variant: string, commandLine: string, warnings: readonly string[] = []): void {
    this.refused.push(refused);
    this.variant = variant;
    this.commandLine = commandLine;
    this.preRunWarnings = [...this.preRunWarnings, ...warnings];
    this.errs.length = 0;
    this.stderrBytes = 0;
    this.dropped.stderr = 0;
    Object.assign(this.s, {
      status: 'running',
      phase: 'running',
      stopReason: undefined,
      graceMs: undefined,
      exitCode: undefined,
      signal: undefined,
      killed: false,
      pid: undefined,
    });
    this.changed();
  }

  linkAttempt(previous: string, previousAttempt: number | undefined): void {
    this.attemptOf = previous;
    this.attempt = (previousAttempt ?? 1) + 1;
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

  get errors(): readonly CompileError[] | undefined {
    return this.s.errors;
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
  get host(): string | undefined {
    return this.s.host;
  }
  get fleet(): readonly FleetHostState[] | undefined {
    return this.s.fleet;
  }
  /** Labels the run with the host it traces. */
  setHost(host: string): void {
    this.s.host = host;
  }
  /** A fleet run's hosts as they stand; set again as each one changes. */
  setFleet(hosts: FleetHostState[]): void {
    this.s.fleet = hosts;
    this.changed();
  }

  /** A map's value without text lines of its own (a fleet run's merge of its hosts' maps). */
  putMap(map: TypedMap): void {
    this.typedMaps.set(map.name, map);
  }

  /**
   * The text lines of a map print that is not this run's own map (a fleet run's host's map,
   * labelled): kept as lines are, under the caps, and known as a print so that analysis reads
   * them as a map, not as printf output; `maps` is left alone. A terminal gets them as text.
   */
  pushForeignMap(map: TypedMap, lines: string[]): void {
    this.tap?.lines(lines);
    const at = this.out.length;
    let kept = 0;
    for (const l of lines) if (this.pushSized(l, Buffer.byteLength(l) + 1, false)) kept++;
    if (kept === lines.length && lines.length) this.prints.set(at, { map, count: lines.length });
    this.record(lines, kept === lines.length);
  }

  /** A histogram's value without text lines of its own (a fleet run's merge). */
  putHistogram(h: Histogram): void {
    this.hists.set(h.name, h);
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
  get commandOutput(): readonly string[] {
    return this.command;
  }
  get droppedCommandOutput(): number {
    return this.droppedCommand;
  }

  /** Streams every line from now on to `tap` (set before the process starts). */
  streamTo(tap: OutputTap): void {
    this.tap = tap;
  }
  get columns(): readonly Column[] | undefined {
    return this.header;
  }
  get rows(): readonly LineRow[] {
    return this.tableRows;
  }
  get histograms(): readonly Histogram[] {
    return [...this.hists.values()];
  }
  /**
   * What the run holds in memory, for the retention budget: output lines, plus the typed maps
   * (their latest print's text size times MAP_MEMORY_FACTOR, since a decoded map costs several
   * times its text: 40 runs with a 65,536-key map each once took 230 MB while counting nothing).
   */
  get storedBytes(): number {
    let maps = 0;
    for (const b of this.mapTextBytes.values()) maps += b;
    return this.bytes + maps * MAP_MEMORY_FACTOR;
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
      case 'warning':
        this.warn(ev.text);
        return;
      case 'columns':
        this.header = ev.columns;
        this.pushLine(ev.text);
        return;
      case 'row':
        // A row lives and dies with its line: past the output cap both are dropped and counted.
        if (this.pushLine(ev.text)) this.tableRows.push({ line: this.out.length - 1, row: ev.row });
        return;
      case 'histogram':
        // The structured histogram is always kept whole; its text lines obey the caps.
        this.hists.set(ev.histogram.name, ev.histogram);
        for (const l of ev.lines) this.pushLine(l);
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
    if (!pinned) this.tap?.lines([text]);
    return this.pushSized(text, Buffer.byteLength(text) + 1, pinned);
  }

  /** A line of the traced command's own output: only the last ones are kept. */
  pushCommandOutput(text: string): void {
    this.tap?.command?.(text);
    this.command.push(text);
    if (this.command.length > MAX_COMMAND_OUTPUT_LINES) {
      this.command.shift();
      this.droppedCommand++;
    }
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
    this.tap?.lines(lines, map);
    this.typedMaps.set(map.name, map);
    const superseded = this.mapsMissingFromLines.get(map.name);
    if (superseded) {
      this.mapsMissingFromLines.delete(map.name);
      this.dropped.lines += superseded.length;
      this.dropped.bytes += superseded.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    }
    const sizes = lines.map((l) => Buffer.byteLength(l) + 1);
    const size = sizes.reduce((n, x) => n + x, 0);
    this.mapTextBytes.set(map.name, size);
    if (this.out.length + lines.length <= this.limits.max_lines && this.bytes + size <= this.limits.max_bytes) {
      this.prints.set(this.out.length, { map, count: lines.length });
      lines.forEach((l, i) => this.pushSized(l, sizes[i], true));
    } else {
      this.mapsMissingFromLines.set(map.name, lines);
    }
  }

  /** `label` goes before the kept text (a fleet run's `[host] `); the line is classified without it. */
  pushStderr(raw: string, label = ''): StderrLine {
    const cut = raw.length > MAX_DIAGNOSTIC_CHARS ? `${raw.slice(0, MAX_DIAGNOSTIC_CHARS)}… (${raw.length - MAX_DIAGNOSTIC_CHARS} more characters cut)` : raw;
    const text = label + cut;
    const line = { text, level: classifyStderr(cut) };
    if (this.errs.length < MAX_STDERR_LINES && this.stderrBytes + text.length <= MAX_STDERR_BYTES) {
      this.errs.push(line);
      this.stderrBytes += text.length;
    } else this.dropped.stderr++;
    return line;
  }

  /**
   * Sets the final status once: the final map output is pinned first (maps cut by the caps
   * are appended past them), so every reader of a finished run sees it.
   */
  finish(status: Exclude<ExecutionStatus, 'queued' | 'running' | 'interrupted'>, error?: string, hint?: string, errors?: readonly CompileError[]): void {
    if (this.finished) return;
    for (const [name, lines] of this.mapsMissingFromLines) {
      this.prints.set(this.out.length, { map: this.typedMaps.get(name)!, count: lines.length });
      for (const l of lines) this.pushLine(l, true);
    }
    this.mapsMissingFromLines.clear();
    Object.assign(this.s, {
      status,
      error:
        error && error.length > MAX_ERROR_MESSAGE_CHARS
          ? `${error.slice(0, MAX_ERROR_MESSAGE_CHARS)}… (${error.length - MAX_ERROR_MESSAGE_CHARS} more characters cut: fix the first errors and run again)`
          : error,
      hint,
      errors,
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

  /** With `lines: false` the lines are left out (empty): the history appends them in batches instead. */
  toRecord(opts: { lines?: boolean } = {}): ExecutionRecord {
    return {
      id: this.id,
      tool: this.tool,
      commandLine: this.commandLine,
      variant: this.variant,
      summary: this.summary,
      limits: { ...this.limits },
      createdAt: this.createdAt,
      ...structuredClone(this.s),
      preRunWarnings: [...this.preRunWarnings],
      runWarnings: [...this.warned],
      refusedProviders: structuredClone(this.refused),
      lines: opts.lines === false ? [] : [...this.out],
      droppedLines: this.dropped.lines,
      droppedBytes: this.dropped.bytes,
      stderr: this.errs.map((l) => ({ ...l })),
      droppedStderr: this.dropped.stderr,
      maps: [...this.typedMaps.values()].map((m) => structuredClone(m)),
      mapPrints: [...this.prints.entries()].map(([i, p]) => [i, structuredClone(p)]),
      commandOutput: [...this.command],
      droppedCommandOutput: this.droppedCommand,
      ...(this.header ? { columns: structuredClone(this.header), rows: structuredClone(this.tableRows) } : {}),
      ...(this.hists.size ? { histograms: structuredClone(this.histograms) } : {}),
    };
  }

  changed(): void {
    this.emit('change');
  }
}
