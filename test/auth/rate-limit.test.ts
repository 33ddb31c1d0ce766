import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/mcp/auth/rate-limit.js';

const T0 = 1_000_000;

describe('RateLimiter', () => {
  it('lets a minute’s worth through at once, then refuses with the wait until the next one', () => {
    const rl = new RateLimiter({ perMinute: 6 });
    const burst = Array.from({ length: 6 }, () => rl.take('token:alice', undefined, T0));
    expect(burst).toEqual([5, 4, 3, 2, 1, 0].map((remaining) => ({ ok: true, remaining })));
    // One request comes back every 10 s.
    expect(rl.take('token:alice', undefined, T0)).toEqual({ ok: false, retryAfterSec: 10 });
    expect(rl.take('token:alice', undefined, T0 + 7_500)).toEqual({ ok: false, retryAfterSec: 3 });
    // Another subject has its own bucket.
    expect(rl.take('token:bob', undefined, T0)).toEqual({ ok: true, remaining: 5 });
  });

  it('refills at perMinute/60 a second, never past a full bucket', () => {
    const rl = new RateLimiter({ perMinute: 60 });
    for (let i = 0; i < 60; i++) expect(rl.take('s', undefined, T0).ok).toBe(true);
    expect(rl.take('s', undefined, T0).ok).toBe(false);
    expect(rl.take('s', undefined, T0 + 1000)).toEqual({ ok: true, remaining: 0 });
    expect(rl.take('s', undefined, T0 + 1000).ok).toBe(false);
    expect(rl.take('s', undefined, T0 + 30_000)).toEqual({ ok: true, remaining: 28 });
    expect(rl.take('s', undefined, T0 + 3_600_000)).toEqual({ ok: true, remaining: 59 });
  });

  it('a subject’s own limit replaces the default', () => {
    const rl = new RateLimiter({ perMinute: 100 });
    expect(rl.take('token:ci', 2, T0)).toEqual({ ok: true, remaining: 1 });
    expect(rl.take('token:ci', 2, T0)).toEqual({ ok: true, remaining: 0 });
    expect(rl.take('token:ci', 2, T0)).toEqual({ ok: false, retryAfterSec: 30 });
  });

  it('a clock that steps back refills nothing', () => {
    const rl = new RateLimiter({ perMinute: 1 });
    expect(rl.take('s', undefined, T0).ok).toBe(true);
    expect(rl.take('s', undefined, T0 - 120_000).ok).toBe(false);
  });

  it('keeps at most maxSubjects, forgetting the least recently used, and drops refilled buckets', () => {
    const rl = new RateLimiter({ perMinute: 2, maxSubjects: 3 });
    for (const s of ['a', 'b', 'c']) rl.take(s, undefined, T0);
    rl.take('a', undefined, T0 + 1); // a is now the most recent; b the least
    expect(rl.take('a', undefined, T0 + 2).ok).toBe(false);
    rl.take('d', undefined, T0 + 3);
    expect(rl.size).toBe(3);
    // b was forgotten: it starts full again. a was kept: still empty.
    expect(rl.take('b', undefined, T0 + 4)).toEqual({ ok: true, remaining: 1 });
    expect(rl.take('a', undefined, T0 + 5).ok).toBe(false);
    // A minute later every bucket has refilled; the next take sweeps them all but its own.
    rl.take('e', undefined, T0 + 120_000);
    expect(rl.size).toBe(1);
  });

  it('stays bounded under many subjects', () => {
    const rl = new RateLimiter({ perMinute: 10, maxSubjects: 100 });
    for (let i = 0; i < 10_000; i++) rl.take(`s${i}`, undefined, T0 + i);
    expect(rl.size).toBe(100);
  });

  it('refuses a limit below one request a minute', () => {
    expect(() => new RateLimiter({ perMinute: 0 })).toThrow(/perMinute must be a number ≥ 1, got 0/);
    expect(() => new RateLimiter({ perMinute: 10 }).take('s', 0.5)).toThrow(RangeError);
  });
});
