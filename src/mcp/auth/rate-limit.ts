export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
  perMinute: number;
}

/** Idle buckets are swept at most this often, so the sweep's cost is spread thin. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Requests per minute per subject (a principal's label), as a token bucket: a subject may
 * spend a whole minute's worth at once, then one more each 60/perMinute seconds. Memory stays
 * bounded: a bucket that has refilled is the same as none and is dropped, and past
 * `maxSubjects` the least recently seen subject is forgotten (it starts again full, which
 * errs on the side of letting a request through, never of refusing one wrongly).
 */
export class RateLimiter {
  readonly perMinute: number;
  readonly maxSubjects: number;
  /** In least recently used order: a take moves its subject to the end. */
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = -Infinity;

  constructor({ perMinute, maxSubjects = 10_000 }: { perMinute: number; maxSubjects?: number }) {
    checkRate(perMinute, 'perMinute');
    if (!Number.isInteger(maxSubjects) || maxSubjects < 1) throw new RangeError(`maxSubjects must be a whole number ≥ 1, got ${maxSubjects}`);
    this.perMinute = perMinute;
    this.maxSubjects = maxSubjects;
  }

  /** How many subjects are remembered now (for tests and a status page). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Spends one request of `subject`. `perMinute` is that subject's own limit (a token's
   * --rpm) in place of the limiter's; when it changes, the bucket keeps its fill ratio.
   */
  take(subject: string, perMinute: number = this.perMinute, now: number = Date.now()): TakeResult {
    checkRate(perMinute, 'perMinute');
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    const old = this.buckets.get(subject);
    let b: Bucket;
    if (old) {
      this.buckets.delete(subject);
      b = refilled(old, now);
      if (b.perMinute !== perMinute) b = { tokens: (b.tokens / b.perMinute) * perMinute, at: now, perMinute };
    } else {
      b = { tokens: perMinute, at: now, perMinute };
    }
    let result: TakeResult;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      result = { ok: true, remaining: Math.floor(b.tokens) };
    } else {
      const msPerToken = 60_000 / perMinute;
      result = { ok: false, retryAfterSec: Math.max(1, Math.ceil(((1 - b.tokens) * msPerToken) / 1000)) };
    }
    // Set after spending, so the eviction below cannot take this bucket for a refilled one.
    this.buckets.set(subject, b);
    if (this.buckets.size > this.maxSubjects) this.evict(now);
    return result;
  }

  /** Drops every bucket that has refilled: it says nothing a new bucket would not. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (refilled(b, now).tokens >= b.perMinute) this.buckets.delete(k);
  }

  /** Over the bound: first the refilled buckets go, then the least recently used. */
  private evict(now: number): void {
    this.sweep(now);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= this.maxSubjects) break;
      this.buckets.delete(k);
    }
  }
}

function refilled(b: Bucket, now: number): Bucket {
  // A clock that steps back refills nothing rather than draining the bucket.
  const elapsed = Math.max(0, now - b.at);
  return { tokens: Math.min(b.perMinute, b.tokens + (elapsed * b.perMinute) / 60_000), at: Math.max(now, b.at), perMinute: b.perMinute };
}

function checkRate(n: number, what: string): void {
  // A programmer's mistake, not a caller's input: token limits are checked when they are made.
  if (!Number.isFinite(n) || n < 1) throw new RangeError(`${what} must be a number ≥ 1, got ${n}`);
}
