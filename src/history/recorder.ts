import type { Execution } from '../runtime/execution.js';
import type { HistoryStore, RunMeta } from './store.js';

/** How often a running run's new lines and state reach the database: what a crash can lose. */
export const HISTORY_FLUSH_MS = 1000;

interface Recorded {
  exec: Execution;
  /** Lines already in the database: a run's lines only ever grow, so the rest is the new part. */
  written: number;
  dirty: boolean;
  warned: boolean;
}

/**
 * Writes each run of this process to the history while it goes: the start at once, then its
 * new lines and state in one batch a second, then the final state when it ends. Tracing never
 * waits on the disk: a write that fails leaves the run going on in memory, with a warning.
 */
export class HistoryRecorder {
  private readonly live = new Map<string, Recorded>();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly store: HistoryStore,
    private readonly flushMs = HISTORY_FLUSH_MS,
  ) {}

  record(exec: Execution, meta: RunMeta): void {
    const entry: Recorded = { exec, written: 0, dirty: false, warned: false };
    this.store.begin(meta, exec.toRecord({ lines: false }));
    this.check(entry);
    if (exec.finished) {
      this.flush(entry, true);
      return;
    }
    this.live.set(exec.id, entry);
    exec.on('change', () => (entry.dirty = true));
    exec.once('end', () => {
      this.live.delete(exec.id);
      this.flush(entry, true);
    });
    this.timer ??= setInterval(() => this.flushDirty(), this.flushMs).unref();
  }

  /** Writes what every running run has not written yet (at shutdown, before the processes go). */
  flushAll(): void {
    for (const e of this.live.values()) this.flush(e, false);
  }

  close(): void {
    this.flushAll();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private flushDirty(): void {
    for (const e of this.live.values()) if (e.dirty) this.flush(e, false);
    if (!this.live.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private flush(e: Recorded, final: boolean): void {
    e.dirty = false;
    const lines = e.exec.lines;
    if (lines.length > e.written) {
      this.store.appendLines(e.exec.id, e.written, lines.slice(e.written));
      e.written = lines.length;
    }
    if (final) this.store.finish(e.exec.id, e.exec.toRecord());
    else this.store.update(e.exec.id, e.exec.toRecord({ lines: false }));
    this.check(e);
  }

  /** A history that stopped taking writes (a full disk) is said once on each run it touches. */
  private check(e: Recorded): void {
    const why = this.store.degraded;
    if (!why || e.warned) return;
    e.warned = true;
    e.exec.warn(`the history did not record all of this run (${why}); the run itself goes on, and get_result in this process has all of it`);
  }
}
