import PQueue from 'p-queue';
import type { LoadedTool } from '../manifest/types.js';
import type { Preflight } from './environment.js';
import { Execution, type StopReason } from './execution.js';
import { renderLaunch } from './launch-spec.js';
import { finishExecution, requestStop, runProcess } from './process-lifecycle.js';

export interface RunnerOptions {
  /** Runs executing at once. */
  concurrency: number;
  /** Runs waiting for a slot; one more is refused. */
  maxQueued: number;
  /** Finished runs kept for get_result; the oldest are forgotten first. */
  maxRetained: number;
  /**
   * Output bytes kept across finished runs. Each run is capped on its own; this bounds the
   * sum, so many large finished runs cannot exhaust the server's memory.
   */
  maxRetainedBytes: number;
  graceMs: number;
  autoMountTracefs: boolean;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  concurrency: Number(process.env.MCPTRACE_CONCURRENCY) || 4,
  maxQueued: Number(process.env.MCPTRACE_MAX_QUEUED) || 16,
  maxRetained: 200,
  maxRetainedBytes: 256 * 1024 * 1024,
  // 360 tracepoints take ~26 s to detach; SIGKILL is no faster, so don't rush it.
  graceMs: Number(process.env.MCPTRACE_GRACE_MS) || 30_000,
  autoMountTracefs: process.env.MCPTRACE_MOUNT_TRACEFS === '1',
};

export class QueueFullError extends Error {}

/** Owns every execution: the queue that limits them and the store that remembers them. */
export class Runner {
  readonly options: RunnerOptions;
  private readonly queue: PQueue;
  private readonly executions = new Map<string, Execution>();
  private seq = 0;

  constructor(
    options: Partial<RunnerOptions>,
    /** The environment check before each run (Core's, which caches a passing one). */
    private readonly check: () => Promise<Preflight>,
  ) {
    this.options = { ...DEFAULT_RUNNER_OPTIONS, ...options };
    this.queue = new PQueue({ concurrency: this.options.concurrency });
  }

  /** Validates the environment, renders the command and queues the run. Throws on bad calls. */
  async start(tool: LoadedTool, input: Record<string, unknown>): Promise<Execution> {
    if (this.queue.size >= this.options.maxQueued) {
      throw new QueueFullError(
        `the run queue is full: ${this.queue.pending} runs are executing and ${this.queue.size} are waiting (limit ${this.options.maxQueued}). ` +
          'Stop one with stop_execution, or wait for one to finish (list_executions shows them).',
      );
    }
    const pre = await this.check();
    const rendered = renderLaunch(tool, input, pre);
    const id = `exec-${(++this.seq).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const exec = new Execution(id, tool.manifest.name, tool.manifest.limits.output, rendered.spec.argv.join(' '));
    exec.variant = rendered.variant;
    this.executions.set(id, exec);
    this.forgetOld();
    // A run stopped while queued is already finished; runProcess then returns at once.
    void this.queue.add(() => runProcess(exec, rendered.spec, { graceMs: this.options.graceMs }));
    return exec;
  }

  get(id: string): Execution | undefined {
    return this.executions.get(id);
  }

  list(): Execution[] {
    return [...this.executions.values()];
  }

  stop(exec: Execution, reason: StopReason): void {
    if (exec.finished) return;
    if (exec.status === 'queued') {
      exec.stopReason = reason;
      finishExecution(exec, reason === 'timeout' ? 'timed_out' : 'stopped');
      return;
    }
    requestStop(exec, reason);
  }

  /** Stops every run and waits until their processes are gone. */
  async shutdown(): Promise<void> {
    const live = this.list().filter((e) => !e.finished);
    for (const e of live) this.stop(e, 'shutdown');
    await Promise.all(live.map((e) => (e.finished ? undefined : new Promise((r) => e.once('end', r)))));
  }

  private forgetOld(): void {
    const finished = this.list().filter((e) => e.finished);
    let bytes = finished.reduce((n, e) => n + e.storedBytes, 0);
    let count = finished.length;
    for (const e of finished) {
      if (count <= this.options.maxRetained && bytes <= this.options.maxRetainedBytes) break;
      this.executions.delete(e.id);
      count--;
      bytes -= e.storedBytes;
    }
  }
}
