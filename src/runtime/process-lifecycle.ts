import type { ResultPromise } from 'execa';
import { BpftraceJsonDecoder, diagnoseFailure } from './bpftrace-output.js';
import { kernelFeatures } from './environment.js';
import type { Execution, StopReason } from './execution.js';
import { loadExeca } from './subprocess.js';

export interface LaunchSpec {
  /** argv[0] is the executable; nothing is ever joined into a shell string. */
  argv: string[];
  env: Record<string, string>;
  /** bpftrace -f json events, or plain text lines (bcc/libbpf tools). */
  output: 'bpftrace-json' | 'text';
  timeoutMs: number;
  /** When set, the run is stopped after this long and that counts as completing normally. */
  durationMs?: number;
}

export interface LifecycleOptions {
  /** Time between SIGINT and SIGKILL. bpftrace needs ~70 ms per tracepoint to detach. */
  graceMs: number;
}

// The kernel sends this to the child when the server dies, even by SIGKILL, so no tracer
// outlives it. setpriv execs the target, so the pid and signals stay the same.
const PDEATHSIG_PREFIX = ['setpriv', '--pdeathsig', 'KILL', '--'];

interface Controller {
  child: ResultPromise;
  stop(reason: StopReason): void;
}

const controllers = new WeakMap<Execution, Controller>();

/**
 * Stops a running execution: SIGINT once (bpftrace then runs END and prints its maps; a second
 * SIGINT would cut that short), SIGKILL only after the grace period.
 */
export function requestStop(exec: Execution, reason: StopReason): boolean {
  const c = controllers.get(exec);
  if (!c || exec.finished) return false;
  c.stop(reason);
  return true;
}

/** Runs the process to its end, filling `exec`. Resolves when the process has exited. */
export async function runProcess(exec: Execution, spec: LaunchSpec, opts: LifecycleOptions): Promise<void> {
  const { execa } = await loadExeca();
  // Stopped while execa was loading: still 'queued' then, so the runner has already ended it.
  if (exec.finished) return;
  const argv = [...PDEATHSIG_PREFIX, ...spec.argv];
  exec.status = 'running';
  exec.phase = 'starting';
  exec.startedAt = Date.now();
  let child: ResultPromise;
  try {
    child = execa(argv[0], argv.slice(1), {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      env: spec.env,
      extendEnv: true,
      // Its own process group: a Ctrl-C at a terminal must not reach the tracer directly,
      // or it would get a second SIGINT on top of ours and cut its map output short.
      detached: true,
      // execa's exit cleanup skips detached children anyway; the parent-death signal (and
      // Runner.shutdown on a normal exit) is what ends them.
      cleanup: false,
      forceKillAfterDelay: false,
    });
  } catch (e) {
    finishExecution(exec, 'failed', `could not start ${spec.argv[0]}: ${(e as Error).message}`);
    return;
  }
  exec.pid = child.pid;
  let graceTimer: NodeJS.Timeout | undefined;
  // Measured: bpftrace loses a SIGINT that arrives before its probes are attached, and would run
  // until the grace period ends. Its attach notification tells when SIGINT will be honoured, so
  // a stop that comes earlier is held until then. Exactly one SIGINT is ever sent.
  let sigintPending = false;
  const sendSigint = () => {
    sigintPending = false;
    child.kill('SIGINT');
  };
  const stop = (reason: StopReason) => {
    if (exec.stopReason || exec.finished) return;
    exec.stopReason = reason;
    const grace = `SIGKILL after ${Math.round(opts.graceMs / 1000)} s`;
    if (spec.output === 'bpftrace-json' && exec.attachedAt === undefined) {
      sigintPending = true;
      exec.phase = `stopping (${reason}): waiting for probes to attach, then SIGINT (${grace})`;
    } else {
      exec.phase = `stopping (${reason}): SIGINT sent, waiting for the tracer to print its maps and detach (${grace})`;
      sendSigint();
    }
    graceTimer = setTimeout(() => {
      exec.killed = true;
      exec.phase = 'stopping: grace period over, SIGKILL sent; the kernel may still be detaching probes';
      child.kill('SIGKILL');
      exec.changed();
    }, opts.graceMs);
    graceTimer.unref();
    exec.changed();
  };
  controllers.set(exec, { child, stop });
  const timers = [setTimeout(() => stop('timeout'), spec.timeoutMs)];
  if (spec.durationMs !== undefined) timers.push(setTimeout(() => stop('duration'), spec.durationMs));
  exec.phase = 'running';
  exec.changed();

  const decoder = spec.output === 'bpftrace-json' ? new BpftraceJsonDecoder() : undefined;
  const onStdoutLine = (line: string) => {
    if (!decoder) {
      exec.pushLine(line);
      return;
    }
    for (const d of decoder.decode(line)) {
      if (d.kind === 'text') exec.pushLine(d.text);
      else if (d.kind === 'map') exec.pushMap(d.map, d.lines);
      else if (d.kind === 'lost') exec.lostEvents += d.events;
      else if (d.kind === 'attached') exec.attachedProbes = d.probes;
    }
  };
  const onStderrLine = (line: string) => {
    if (line.startsWith('__BPFTRACE_NOTIFY_PROBES_ATTACHED')) {
      exec.attachedAt = Date.now();
      if (!exec.stopReason) exec.phase = 'attached: probes are live';
      if (sigintPending) {
        exec.phase = `stopping (${exec.stopReason}): SIGINT sent, waiting for the tracer to print its maps and detach`;
        sendSigint();
      }
      return;
    }
    const lost = /^Lost (\d+) events/.exec(line);
    if (lost) exec.lostEvents += Number(lost[1]);
    exec.pushStderr(line);
  };
  const done = Promise.all([
    pumpLines(child.stdout!, onStdoutLine, () => exec.changed()),
    pumpLines(child.stderr!, onStderrLine, () => exec.changed()),
  ]);
  const result = await child;
  await done;
  timers.forEach(clearTimeout);
  if (graceTimer) clearTimeout(graceTimer);
  if (decoder) for (const d of decoder.flush()) if (d.kind === 'text') exec.pushLine(d.text);
  exec.pinFinalMaps();
  exec.exitCode = result.exitCode ?? null;
  exec.signal = result.signal ?? null;

  const stderrText = exec.stderr.map((l) => l.text);
  const hasError = exec.stderr.some((l) => l.level === 'error');
  if (result.failed && (result as { code?: string }).code === 'ENOENT') {
    finishExecution(exec, 'failed', `${spec.argv[0]} not found`, 'Install bpftrace and libbpf-tools: apt-get install -y bpftrace libbpf-tools');
  } else if (exec.exitCode !== 0 && exec.exitCode !== null && (hasError || !exec.stopReason)) {
    // A compile or attach error is a failure even if a stop was requested meanwhile.
    const d = diagnoseFailure(stderrText, kernelFeatures());
    finishExecution(exec, 'failed', `exit code ${exec.exitCode}: ${d.error}`, d.hint);
  } else if (exec.stopReason === 'timeout') {
    finishExecution(exec, 'timed_out');
  } else if (exec.stopReason === 'duration') {
    finishExecution(exec, 'completed');
  } else if (exec.stopReason) {
    finishExecution(exec, 'stopped');
  } else if (exec.exitCode === 0) {
    finishExecution(exec, 'completed');
  } else {
    finishExecution(exec, 'failed', `terminated by ${exec.signal ?? 'an unknown cause'}`);
  }
}

/** Sets a final status once; also used for a run stopped before it started. */
export function finishExecution(exec: Execution, status: Execution['status'], error?: string, hint?: string): void {
  exec.status = status;
  exec.error = error;
  exec.hint = hint;
  exec.endedAt = Date.now();
  exec.phase = status === 'failed' ? 'ended with an error' : exec.killed ? 'ended: killed after the grace period, map output may be incomplete' : 'ended';
  exec.changed();
  exec.emit('end');
}

/**
 * Splits a stream into lines without buffering the whole output. Plain 'data' events: an
 * async iterator costs ~1.4 ms more per run (measured), on a path that is all overhead.
 */
function pumpLines(stream: NodeJS.ReadableStream, onLine: (l: string) => void, onBatch: () => void): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
      onBatch();
    });
    const end = () => {
      if (rest) {
        onLine(rest);
        rest = '';
        onBatch();
      }
      resolve();
    };
    stream.on('end', end);
    stream.on('error', end);
  });
}
