import PQueue from 'p-queue';
import { runnerSettings, type RunnerSettings, type ToolLimits } from '../config/defaults.js';
import { Execution, type StopReason } from './execution.js';
import { MemoryExecutionStore, type ExecutionStore } from './execution-store.js';
import { requestStop, runProcess, type LaunchSpec } from './process-lifecycle.js';
import { processSpawner, type Spawner } from './spawner.js';
import { OutputFiles } from './output-files.js';
import { FleetRun } from './fleet/fleet-run.js';

export class QueueFullError extends Error {}

/** What the runner needs to start one run; it knows nothing of tools or kinds. */
export interface RunRequest {
  tool: string;
  limits: ToolLimits['output'];
  spec: LaunchSpec;
  variant?: string;
  /** What ran, in a few words, for listings (a program's first line, a template and its input). */
  summary?: string;
  /** The run this one retries (exec_program's attempt_of), so the history shows the chain. */
  attemptOf?: string;
  /** What the pre-run hooks found worth saying without refusing (a policy rule at "warn"). */
  warnings?: readonly string[];
  /** A run on another host (a fleet member): its spawner, and the host it is labelled with. */
  remote?: { host: string; spawner: Spawner };
}

export interface RunnerDeps {
  store?: ExecutionStore;
  spawner?: Spawner;
  /** Whether an id is already used by a run another process or an earlier start recorded. */
  idTaken?: (id: string) => boolean;
}

/** Owns every execution: the queue that limits them and the store that remembers them. */
export class Runner {
  readonly options: RunnerSettings;
  readonly store: ExecutionStore;
  private readonly spawner: Spawner;
  private readonly queue: PQueue;
  /** Runs on other hosts: they cost this machine a process and a pipe, not a tracer's CPU. */
  private readonly remoteQueue: PQueue;
  private readonly fleets = new Map<string, FleetRun>();
  private readonly idTaken: (id: string) => boolean;
  /** The whole output of runs that overflowed their caps, file-backed, readable in pages. */
  readonly outputs = new OutputFiles();
  private seq = 0;

  constructor(options: Partial<RunnerSettings> = {}, deps: RunnerDeps = {}) {
    this.options = runnerSettings(options);
    this.store = deps.store ?? new MemoryExecutionStore();
    this.spawner = deps.spawner ?? processSpawner;
    this.idTaken = deps.idTaken ?? (() => false);
    this.queue = new PQueue({ concurrency: this.options.concurrency });
    this.remoteQueue = new PQueue({ concurrency: this.options.fleetParallelism });
  }

  /**
   * Queues a run, or refuses it when the queue is full. Synchronous on purpose: the check and
   * the add cannot be separated by another call.
   */
  start(req: RunRequest): Execution {
    const queue = req.remote ? this.remoteQueue : this.queue;
    if (!req.remote && this.queue.size >= this.options.maxQueued) {
      throw new QueueFullError(
        `the run queue is full: ${this.queue.pending} runs are executing and ${this.queue.size} are waiting (limit ${this.options.maxQueued}). ` +
          'Stop one with stop_execution, or wait for one to finish (list_executions shows them).',
      );
    }
    const id = this.newId();
    const exec = new Execution(id, req.tool, req.limits, req.spec.argv.join(' '), req.variant, req.summary);
    if (req.remote) exec.setHost(req.remote.host);
    if (req.attemptOf) exec.linkAttempt(req.attemptOf, this.store.get(req.attemptOf)?.attempt);
    if (req.warnings?.length) exec.preRunWarnings = [...req.warnings];
    exec.overflow = () => this.outputs.open(id);
    this.store.add(exec);
    this.forgetOld();
    // p-queue starts a task at once when a slot is free: say so now, so the caller (and an
    // MCPtrace client polling while "running") never sees a run that is starting as queued.
    if (queue.pending + queue.size < queue.concurrency) exec.spawning();
    const spawner = req.remote?.spawner ?? this.spawner;
    void queue.add(() => runProcess(exec, req.spec, { graceMs: this.options.graceMs, spawner }));
    return exec;
  }

  /**
   * A run on many hosts: one Execution that gathers its members' output (FleetRun). It is
   * running from the start; its members are started with `start` and added to it.
   */
  startFleet(tool: string, limits: RunRequest['limits'], summary: string | undefined, program: string | undefined, hosts: readonly string[]): FleetRun {
    const exec = new Execution(this.newId().replace(/^exec-/, 'fleet-'), tool, limits, `fleet: ${hosts.join(' ')}`, undefined, summary);
    exec.overflow = () => this.outputs.open(exec.id);
    exec.spawning();
    this.store.add(exec);
    const fleet = new FleetRun(exec, program);
    this.fleets.set(exec.id, fleet);
    exec.once('end', () => this.fleets.delete(exec.id));
    this.forgetOld();
    return fleet;
  }

  /** The fleet run with this id, while it runs. */
  fleet(id: string): FleetRun | undefined {
    return this.fleets.get(id);
  }

  /**
   * Unique across restarts and across processes that share a history: the millisecond clock and
   * a counter make it new for this process, the random tail for another started the same
   * millisecond, and the history is asked in case the clock went back.
   */
  private newId(): string {
    for (;;) {
      const id = `exec-${Date.now().toString(36)}${(++this.seq % 1296).toString(36).padStart(2, '0')}${Math.random().toString(36).slice(2, 5).padEnd(3, '0')}`;
      if (!this.store.get(id) && !this.idTaken(id)) return id;
    }
  }

  get(id: string): Execution | undefined {
    return this.store.get(id);
  }

  list(): Execution[] {
    return this.store.list();
  }

  stop(exec: Execution, reason: StopReason): void {
    if (exec.finished) return;
    const fleet = this.fleets.get(exec.id);
    if (fleet) {
      exec.stopping(reason, this.options.graceMs, false);
      for (const run of fleet.runs) this.stop(run, reason);
      return;
    }
    if (exec.status === 'queued') {
      exec.cancelQueued(reason);
      return;
    }
    requestStop(exec, reason);
  }

  /** Stops every run and waits until their processes are gone. */
  async shutdown(): Promise<void> {
    const live = this.list().filter((e) => !e.finished);
    for (const e of live) this.stop(e, 'shutdown');
    await Promise.all(live.map((e) => (e.finished ? undefined : new Promise((r) => e.once('end', r)))));
    this.outputs.removeAll();
  }

  private forgetOld(): void {
    const finished = this.list().filter((e) => e.finished);
    let bytes = finished.reduce((n, e) => n + e.storedBytes, 0);
    let count = finished.length;
    for (const e of finished) {
      if (count <= this.options.maxRetained && bytes <= this.options.maxRetainedBytes) break;
      this.store.delete(e.id);
      this.outputs.remove(e.id);
      count--;
      bytes -= e.storedBytes;
    }
  }
}
