import { readFileSync } from 'node:fs';
import type { CompileError, Execution, StopReason } from './execution.js';
import type { OutputDecoder } from './output-decoder.js';
import type { ProcessExit, Spawner } from './spawner.js';
import { openTraceFifo, type TraceFifo } from './trace-fifo.js';
import { MAX_EVENT_LINE_BYTES, MAX_LINE_BYTES } from '../config/defaults.js';

/** What bpftrace prints once its probes are attached (__BPFTRACE_NOTIFY_PROBES_ATTACHED=1). */
const ATTACH_NOTICE = '__BPFTRACE_NOTIFY_PROBES_ATTACHED';

/** CPU time that shows a stopping tracer at work between two looks a second apart (20 ms at 100 Hz). */
const BUSY_TICKS = 2;
/** How far past its grace period a tracer still at work may go before SIGKILL: its maps are the result. */
const BUSY_GRACE_FACTOR = 4;

/**
 * User plus system CPU time of a process and its descendants so far, in clock ticks; undefined
 * where /proc cannot tell. The descendants count because the tracer may sit below sudo and the
 * privileged helper, which themselves do nothing.
 */
function cpuTicks(pid: number | undefined, depth = 0): number | undefined {
  const own = ownCpuTicks(pid);
  if (own === undefined || depth > 3) return own;
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // A kernel without CONFIG_PROC_CHILDREN: the process alone.
  }
  return children.reduce((sum, c) => sum + (cpuTicks(Number(c), depth + 1) ?? 0), own);
}

function ownCpuTicks(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Everything the lifecycle needs to run one process; a tool kind builds it. */
export interface LaunchSpec {
  /** argv[0] is the executable; nothing is ever joined into a shell string. */
  argv: string[];
  env: Record<string, string>;
  /** A fresh decoder for this run's output (its module may load on first use). */
  decoder: () => OutputDecoder | Promise<OutputDecoder>;
  /**
   * bpftrace loses a SIGINT that arrives before its probes are attached (measured), and then
   * runs until SIGKILL. When set, a stop before the decoder reports `attached` is held until then.
   */
  holdStopUntilAttached: boolean;
  /**
   * bpftrace 0.17 also ignores some SIGINTs that arrive after the attach (measured: 1 to 4 in
   * 10 runs of a quiet program), while a second one is honoured. When set, SIGINT is sent again
   * while the tracer shows no sign of stopping (see nudge below). A repeated SIGINT during the
   * detach of hundreds of probes was measured harmless: the maps still print.
   */
  resendStop?: boolean;
  /** Turns a failed run's stderr into an error and a fix (and, for a program, located errors). */
  diagnose?: (stderr: string[]) => Diagnosis | Promise<Diagnosis>;
  /**
   * Each stdout line is one structured event (bpftrace -f json): read whole however long it is
   * (a map of 65,536 keys is one line), up to MAX_EVENT_LINE_BYTES, and never cut into fragments.
   */
  eventLines?: boolean;
  /**
   * The tracer runs under the privileged helper, which stops it when its stdin (a pipe the
   * server holds open) reaches EOF: the server is gone, however it died.
   */
  lifeline?: boolean;
  /** Infinity: no deadline (a terminal run that ends with Ctrl-C). */
  timeoutMs: number;
  /** When set, the run is stopped after this long and that counts as completing normally. */
  durationMs?: number;
  /**
   * A named pipe (in a directory that does not exist yet) that argv tells the tracer to write
   * its output to. Its stdout then carries only the traced command's output (bpftrace -c), which
   * the run keeps apart from the trace.
   */
  traceFifo?: string;
  /**
   * Blank lines the tracer itself writes to stdout as it exits (bpftrace up to 0.23 prints two
   * even with -o), which are not the command's: up to this many trailing ones are dropped.
   */
  stdoutTrailer?: number;
  /**
   * Asked once the process has exited, before the run gets its status: a spec returned runs next
   * in the same Execution (a bcc tool the kernel refused at start-up falls back to its next
   * provider; see runtime/fallback.ts).
   */
  fallback?: (exec: Execution, exit: ProcessExit) => Promise<LaunchSpec | undefined>;
}

export interface Diagnosis {
  error: string;
  hint?: string;
  /** The failed compile's errors, each located and with a fix (the validator's taxonomy). */
  errors?: readonly CompileError[];
  /** The kernel refused the program as it loaded or attached: nothing ran (runtime/fallback.ts). */
  refused?: boolean;
}

export interface LifecycleOptions {
  /** Time between SIGINT and SIGKILL. bpftrace needs ~70 ms per tracepoint to detach. */
  graceMs: number;
  spawner: Spawner;
}

const stoppers = new WeakMap<Execution, (reason: StopReason) => void>();
/** Stops asked for while the process was being spawned; applied the moment it exists. */
const pendingStops = new WeakMap<Execution, StopReason>();

/**
 * Stops a running execution: SIGINT (bpftrace then runs END and prints its maps), SIGKILL only
 * after the grace period.
 */
export function requestStop(exec: Execution, reason: StopReason): boolean {
  if (exec.finished) return false;
  const stop = stoppers.get(exec);
  if (stop) stop(reason);
  else if (!pendingStops.has(exec)) pendingStops.set(exec, reason);
  return true;
}

/** Runs the process to its end, filling `exec`. Resolves when the process has exited. */
export async function runProcess(exec: Execution, spec: LaunchSpec, opts: LifecycleOptions): Promise<void> {
  // Stopped while queued: the runner has already ended it.
  if (exec.finished) return;
  exec.spawning();
  // Ready before the process starts: its output streams flow at once, and a line read before
  // a listener exists is lost (measured: the first run of a lane lost its first lines).
  const decoder = await spec.decoder();
  let fifo: TraceFifo | undefined;
  let child;
  try {
    if (spec.traceFifo) fifo = await openTraceFifo(spec.traceFifo);
    child = await opts.spawner.spawn(spec.argv, spec.env, { lifeline: spec.lifeline === true });
  } catch (e) {
    await fifo?.cleanup();
    exec.finish('failed', `could not start ${spec.argv[0]}: ${(e as Error).message}`);
    return;
  }
  // A stop asked for while spawning is pending (requestStop), and applied once `stop` exists.
  exec.started(child.pid);
  let graceTimer: NodeJS.Timeout | undefined;
  let exited = false;
  // The stop's SIGINT: held until the probes attach, then sent, then sent again while the
  // tracer shows no sign of having received it.
  const sig = { held: false, count: 0, mapsSince: false, linesSince: false, received: false, timer: undefined as NodeJS.Timeout | undefined };
  // Whether the tracer worked since the last look: used CPU, or wrote output (a partial line
  // counts). After a SIGINT, bpftrace detaches, runs END and resolves every stack's symbols
  // before the first map line, printing nothing (measured: 36-56 s at a full core for
  // system-wide user stacks on 0.17). One that lost the SIGINT sits idle in its poll loop, or
  // goes on printing events.
  let stdoutBytes = 0;
  let last: { ticks?: number; bytes: number } | undefined;
  const working = () => {
    const before = last;
    last = { ticks: cpuTicks(child.pid), bytes: stdoutBytes };
    if (!before) return false;
    const cpu = before.ticks !== undefined && last.ticks !== undefined && last.ticks - before.ticks >= BUSY_TICKS;
    return cpu || last.bytes > before.bytes;
  };
  const sendSigint = () => {
    if (exited) return;
    sig.held = false;
    sig.mapsSince = false;
    sig.linesSince = false;
    sig.received = false;
    last = { ticks: cpuTicks(child.pid), bytes: stdoutBytes };
    sig.count++;
    child.kill('SIGINT');
    exec.sigintSent();
    if (spec.resendStop) nudgeLater();
  };
  // A SIGINT was received once the maps print, the tracer works on them in silence, or it
  // prints the blank lines 0.17 prints as it stops; a second SIGINT after that would cut the
  // maps short, so it is never sent. Until then it is sent again, each retry waiting twice as
  // long as the one before.
  const nudgeLater = () => {
    if (sig.timer) clearTimeout(sig.timer);
    const wait = Math.min(1000 * 2 ** (sig.count - 1), 8000);
    sig.timer = setTimeout(() => {
      if (exited || exec.finished || sig.mapsSince || sig.received) return;
      if (working() && !sig.linesSince) {
        sig.received = true;
        return;
      }
      sendSigint();
    }, wait);
    sig.timer.unref();
  };
  const stop = (reason: StopReason) => {
    if (exec.stopReason || exec.finished) return;
    sig.held = spec.holdStopUntilAttached && exec.attachedAt === undefined;
    exec.stopping(reason, opts.graceMs, sig.held);
    if (sig.held) {
      // An attach notice that never comes (an old bpftrace, a wrapper) must not turn the stop
      // into a SIGKILL: after a while the SIGINT goes anyway, and is repeated if lost. A tracer
      // still busy starting (compiling, loading, attaching: its CPU time grows) keeps the hold
      // up to the grace period: a SIGINT before its handler exists kills it with its maps
      // (measured under emulation, where bpftrace 0.17 took over 5 s to attach).
      const heldAt = Date.now();
      working();
      const release = () => {
        if (!sig.held || exited) return;
        if (working() && Date.now() - heldAt < opts.graceMs) return void setTimeout(release, 1000).unref();
        sendSigint();
      };
      setTimeout(release, Math.min(5000, opts.graceMs / 4)).unref();
    } else sendSigint();
    // SIGKILL after the grace period, unless the tracer is still at work on its maps then: it
    // gets up to BUSY_GRACE_FACTOR times the period, checked each second.
    // Events still printing without maps mean it never stopped: no extension for that.
    const stopAt = Date.now();
    const kill = () => {
      if (working() && (sig.mapsSince || sig.received || !sig.linesSince) && Date.now() - stopAt < opts.graceMs * BUSY_GRACE_FACTOR) {
        graceTimer = setTimeout(kill, 1000);
        graceTimer.unref();
        return;
      }
      exec.killing();
      child.kill('SIGKILL');
    };
    graceTimer = setTimeout(kill, opts.graceMs);
    graceTimer.unref();
  };
  stoppers.set(exec, stop);
  const pending = pendingStops.get(exec);
  if (pending) stop(pending);
  // No deadline (Infinity) means no timer: setTimeout would fire at once for it.
  const timers = Number.isFinite(spec.timeoutMs) ? [setTimeout(() => stop('timeout'), spec.timeoutMs)] : [];
  if (spec.durationMs !== undefined) timers.push(setTimeout(() => stop('duration'), spec.durationMs));

  const apply = (events: ReturnType<OutputDecoder['stdout']>) => {
    for (const ev of events) {
      exec.apply(ev);
      if (ev.kind === 'map') sig.mapsSince = true;
      // The blank lines bpftrace up to 0.23 prints as it stops, before the maps: received.
      else if (ev.kind === 'text' && ev.text === '') sig.received ||= sig.count > 0 && !sig.linesSince;
      else if (ev.kind !== 'stderr') sig.linesSince = true;
      if (ev.kind === 'attached' && sig.held) sendSigint();
    }
  };
  (fifo?.stream ?? child.stdout).on('data', (chunk: string | Buffer) => (stdoutBytes += chunk.length));
  const tooLong = (bytes: number) =>
    exec.warn(
      `the tracer printed an output event of ${(bytes / 2 ** 20).toFixed(0)} MiB, over the ${MAX_EVENT_LINE_BYTES / 2 ** 20} MiB that mcptrace reads as one event: ` +
        'it was skipped whole rather than cut into fragments. It is almost always one map: print it in parts (print(@map, 10000) prints the top 10,000 entries), key it on fewer values, or clear() it on an interval.',
    );
  const pumps = [
    pumpLines(
      fifo?.stream ?? child.stdout,
      (l) => apply(decoder.stdout(l)),
      () => exec.changed(),
      spec.eventLines ? { maxLine: MAX_EVENT_LINE_BYTES, tooLong } : MAX_LINE_BYTES,
    ),
    pumpLines(
      child.stderr,
      (l) => apply(decoder.stderr(l)),
      () => exec.changed(),
    ),
  ];
  if (fifo) {
    // Blank lines wait until a later line shows they are the command's; the last few at the
    // end are the tracer's own.
    let blanks = 0;
    const commandLine = (l: string) => {
      // bpftrace 0.27 writes its attach notice to stdout even with -o: it is the tracer's.
      if (l === ATTACH_NOTICE) return apply(decoder.stderr(l));
      if (l === '') return void blanks++;
      for (; blanks > 0; blanks--) exec.pushCommandOutput('');
      exec.pushCommandOutput(l);
    };
    pumps.push(
      pumpLines(child.stdout, commandLine, () => exec.changed()).then(() => {
        for (blanks -= spec.stdoutTrailer ?? 0; blanks > 0; blanks--) exec.pushCommandOutput('');
      }),
    );
  }
  const done = Promise.all(pumps);
  const result = await child.exit;
  exited = true;
  fifo?.release();
  await done;
  await fifo?.cleanup();
  if (sig.timer) clearTimeout(sig.timer);
  timers.forEach(clearTimeout);
  if (graceTimer) clearTimeout(graceTimer);
  apply(decoder.end());
  exec.exited(result.exitCode, result.signal);
  const next = await spec.fallback?.(exec, result);
  if (next) {
    // A stop asked for from now on waits (pendingStops) for the next process, not this dead one.
    stoppers.delete(exec);
    return runProcess(exec, next, opts);
  }
  await finishFromExit(exec, result, spec);
}

/** The final status of a run whose process has exited. */
async function finishFromExit(exec: Execution, result: ProcessExit, spec: LaunchSpec): Promise<void> {
  const hasError = exec.stderr.some((l) => l.level === 'error');
  if (result.spawnError) {
    const missing = result.spawnError.code === 'ENOENT';
    exec.finish('failed', result.spawnError.message, missing ? 'Install bpftrace and libbpf-tools: apt-get install -y bpftrace libbpf-tools' : undefined);
  } else if (exec.exitCode !== 0 && exec.exitCode !== null && exec.exitCode !== undefined && (hasError || !exec.stopReason)) {
    // A compile or attach error is a failure even if a stop was requested meanwhile.
    const stderr = exec.stderr.map((l) => l.text);
    const d = (await spec.diagnose?.(stderr)) ?? { error: stderr.slice(-10).join('\n') || 'the process failed without printing an error' };
    exec.finish('failed', `exit code ${exec.exitCode}: ${d.error}`, d.hint, d.errors);
  } else if (exec.stopReason === 'timeout') {
    exec.finish('timed_out');
  } else if (exec.stopReason === 'duration') {
    exec.finish('completed');
  } else if (exec.stopReason) {
    exec.finish('stopped');
  } else if (exec.exitCode === 0) {
    // Only what the process did counts: exit status 0 with no stop asked for is a normal end,
    // whether by exit(), by running out of probes that can fire (bpftrace 0.25 and later end a
    // BEGIN-only program by themselves) or by a signal bpftrace handled as a normal stop.
    exec.finish('completed');
  } else {
    const lost = exec.signal === 'SIGKILL' || exec.signal === 'SIGHUP' ? '; maps not yet printed are lost' : '';
    exec.finish(
      'failed',
      `terminated by ${exec.signal ?? 'an unknown cause'}, which mcptrace did not send${lost}`,
      'Something outside mcptrace signalled the tracer. To end a run and keep its maps, use stop_execution (SIGINT).',
    );
  }
}

/** How pumpLines treats a line longer than its bound. */
export interface LineBounds {
  maxLine: number;
  /**
   * Each line is one structured event (bpftrace -f json), which a cut would turn into fragments
   * nobody can read: a line past the bound is skipped whole and reported to `tooLong`, and the
   * next line is read as usual. Without it, a long line of text is cut into lines of maxLine.
   */
  tooLong?: (bytes: number) => void;
}

/**
 * Splits a stream into lines without buffering the whole output. Each chunk is scanned once:
 * re-splitting `partial + chunk` for every chunk was quadratic for output without newlines
 * (measured: get_result from 8 ms to 1.7 s, and 7 million lost events). No single line grows
 * without bound: past `maxLine` a text line is cut, an event line skipped (see LineBounds).
 * Plain 'data' events: an async iterator costs ~1.4 ms more per run (measured), on a path
 * that is all overhead.
 */
export function pumpLines(
  stream: NodeJS.ReadableStream,
  onLine: (l: string) => void,
  onBatch: () => void,
  bounds: number | LineBounds = MAX_LINE_BYTES,
): Promise<void> {
  const { maxLine, tooLong } = typeof bounds === 'number' ? { maxLine: bounds, tooLong: undefined } : bounds;
  return new Promise((resolve) => {
    let partial: string[] = [];
    let partialLength = 0;
    // Bytes of an event line being skipped (past maxLine), until its newline.
    let skipping = 0;
    const emit = (l: string) => onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
    const hold = (piece: string) => {
      if (skipping) {
        skipping += piece.length;
        return;
      }
      partial.push(piece);
      partialLength += piece.length;
      if (partialLength < maxLine) return;
      if (tooLong) {
        skipping = partialLength;
        partial = [];
        partialLength = 0;
        return;
      }
      const joined = partial.join('');
      emit(joined.slice(0, maxLine));
      const rest = joined.slice(maxLine);
      partial = rest ? [rest] : [];
      partialLength = rest.length;
    };
    const lineEnds = () => {
      if (skipping) {
        tooLong?.(skipping);
        skipping = 0;
        return;
      }
      const line = partial.join('');
      partial = [];
      partialLength = 0;
      emit(line);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
        const piece = chunk.slice(start, nl);
        if (partial.length || skipping) {
          hold(piece);
          lineEnds();
        } else if (piece.length >= maxLine && tooLong) tooLong(piece.length);
        else emit(piece);
        start = nl + 1;
      }
      if (start < chunk.length) hold(chunk.slice(start));
      onBatch();
    });
    const end = () => {
      if (partial.length || skipping) {
        lineEnds();
        onBatch();
      }
      resolve();
    };
    stream.on('end', end);
    stream.on('error', end);
  });
}
