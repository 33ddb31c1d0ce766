import { performance } from 'node:perf_hooks';

/**
 * Cooperative time slicing: a long analysis calls `tick()` in its loops and gives the event loop
 * a turn whenever its slice is used up, so a server keeps reading other runs' output and
 * answering calls while it analyses 100k lines (measured in bench/analysis.js).
 */
export class Budget {
  private start = performance.now();
  private n = 0;

  constructor(private readonly sliceMs = 8) {}

  /** Whether the slice is used up; cheap, since the clock is read only every 256 calls. */
  due(): boolean {
    if (++this.n & 255) return false;
    return performance.now() - this.start >= this.sliceMs;
  }

  /** Gives the event loop a turn and starts a new slice. */
  async pause(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.start = performance.now();
  }
}
