import { hostname } from 'node:os';
import { FINAL_STATUSES, durationMs, type Execution, type RunState, type StopReason } from '../runtime/execution.js';
import { processExists } from '../runtime/processes.js';
import type { Runner } from '../runtime/runner.js';
import type { HistoryStore, RunListFilter, StoredRun } from './store.js';

/** A run read from the history, as every reader of a live run sees one. */
export type StoredRunState = RunState & {
  readonly stored: true;
  /** The process that ran it (a server or a CLI command), and the host. */
  readonly ownerPid: number;
  readonly ownerHost: string;
};

export function storedRunState(run: StoredRun, lineCount?: number): StoredRunState {
  const r = run.record;
  const state = {
    ...r,
    ...(lineCount !== undefined ? { lineCount } : {}),
    maps: new Map(r.maps.map((m) => [m.name, m])),
    mapPrints: new Map(r.mapPrints),
    stored: true as const,
    ownerPid: run.meta.pid,
    ownerHost: run.meta.host,
    finished: FINAL_STATUSES.has(r.status),
    durationMs: (now = Date.now()) => durationMs(r, now),
  };
  return state;
}

export const isStored = (r: RunState): r is StoredRunState => (r as Partial<StoredRunState>).stored === true;

/**
 * The runs a tool may read: this process's live runs first (they change as they are read), then
 * the history, which holds the runs of earlier starts and of every other process that records.
 */
export class RunsWithHistory {
  constructor(
    private readonly runner: Runner,
    private readonly open: () => HistoryStore | undefined = () => undefined,
    /** Whether a history was asked for: known without opening it. */
    readonly shared = false,
  ) {}

  /** The history, opened on first use; undefined when it is off or could not be opened. */
  get history(): HistoryStore | undefined {
    return this.shared ? this.open() : undefined;
  }

  get options() {
    return this.runner.options;
  }

  /** A live run of this process: only these can be waited on as they change. */
  get(id: string): Execution | undefined {
    return this.runner.get(id);
  }

  find(id: string): RunState | undefined {
    const live = this.runner.get(id);
    if (live) return live;
    const stored = this.history?.load(id);
    return stored ? storedRunState(stored) : undefined;
  }

  /**
   * Oldest first, as list_executions has always answered: the newest `limit` runs of the
   * history (filtered there), with this process's live runs in their place.
   */
  list(filter: RunListFilter = {}): RunState[] {
    const live = this.runner.list();
    const history = this.history;
    if (!history) return live;
    const liveIds = new Set(live.map((e) => e.id));
    // Without their lines: a listing needs only how many there are.
    const stored = history
      .list({ limit: 100, ...filter })
      .filter((s) => !liveIds.has(s.id))
      .flatMap((s) => {
        const run = history.load(s.id, { lines: false });
        return run ? [storedRunState(run, s.lineCount)] : [];
      });
    const wanted = (e: RunState) => !filter.status || (Array.isArray(filter.status) ? filter.status : [filter.status]).includes(e.status);
    return [...stored, ...live.filter(wanted)].sort((a, b) => a.createdAt - b.createdAt);
  }

  stop(e: Execution, reason: StopReason): void {
    this.runner.stop(e, reason);
  }

  /**
   * Stops a run another process is running, as a Ctrl-C would: SIGINT to its tracer, which
   * prints its maps and exits; that process records the end. Undefined when it was sent,
   * else why it could not be.
   */
  stopElsewhere(run: RunState): string | undefined {
    if (!isStored(run)) return 'it is a run of this process';
    if (run.finished) return undefined;
    // A shared state directory (NFS) may hold another machine's runs: its pids mean nothing here.
    if (run.ownerHost !== hostname()) return `it runs on ${run.ownerHost}; stop it there (mcptrace stop ${run.id})`;
    if (!processExists(run.ownerPid))
      return `the process that ran it (pid ${run.ownerPid}) is gone; the run will be marked interrupted the next time mcptrace starts`;
    // A remote tracer's local pid is ssh's: a SIGINT there cuts the connection, and the maps with it.
    if (run.fleet || run.host)
      return `it runs on ${run.fleet ? `${run.fleet.length} hosts` : run.host} for process ${run.ownerPid}, which alone can stop it with its maps: stop it there (Ctrl-C in its terminal, or stop_execution through that server)`;
    if (!run.pid) return `it has not started yet in process ${run.ownerPid}: stop it there, or try again in a moment`;
    try {
      process.kill(run.pid, 'SIGINT');
      return undefined;
    } catch (e) {
      return `could not signal its tracer (pid ${run.pid}): ${(e as Error).message}`;
    }
  }
}
