import type { Execution } from './execution.js';

/**
 * Where runs are remembered for get_result, stop_execution and list_executions. Today's store
 * lives in memory, so a run is visible only to the process that started it; a store that
 * persists ExecutionRecord (e.g. SQLite) can take its place behind this interface.
 */
export interface ExecutionStore {
  add(e: Execution): void;
  get(id: string): Execution | undefined;
  /** Oldest first. */
  list(): Execution[];
  delete(id: string): void;
  /** Whether runs of other processes are visible (false: only this process's). */
  readonly shared: boolean;
}

export class MemoryExecutionStore implements ExecutionStore {
  private readonly runs = new Map<string, Execution>();
  readonly shared = false;

  add(e: Execution): void {
    this.runs.set(e.id, e);
  }
  get(id: string): Execution | undefined {
    return this.runs.get(id);
  }
  list(): Execution[] {
    return [...this.runs.values()];
  }
  delete(id: string): void {
    this.runs.delete(id);
  }
}
