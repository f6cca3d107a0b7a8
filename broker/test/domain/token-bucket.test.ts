import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/domain/token-bucket.js';
import { PublishQuota } from '../../src/domain/publish-quota.js';

describe('TokenBucket', () => {
  it('serves a burst up to its capacity, then makes each reservation wait its turn', () => {
    const bucket = new TokenBucket(2, 2, 0);
    expect([bucket.reserve(1, 0), bucket.reserve(1, 0), bucket.reserve(1, 0), bucket.reserve(1, 0)]).toEqual([0, 0, 500, 1000]);
  });

  it('refills with time, never above its capacity', () => {
    const bucket = new TokenBucket(10, 5, 0);
    bucket.reserve(5, 0);
    expect(bucket.waitFor(5, 250)).toBe(250);
    expect(bucket.isFull(10_000)).toBe(true);
    expect(bucket.waitFor(6, 10_000)).toBe(100);
  });

  it('ignores time going backwards', () => {
    const bucket = new TokenBucket(1, 1, 1_000);
    bucket.reserve(1, 1_000);
    expect(bucket.waitFor(1, 0)).toBe(1_000);
  });

  it('refuses a zero rate', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
  });
});

describe('PublishQuota', () => {
  const limits = { msgsPerS: 2, bytesPerS: 1_000, maxPayloadBytes: 2_000 };

  it.each([
    ['passes within the burst', [[10, 0]], 'pass'],
    ['waits for messages over msgsPerS', [[10, 0], [10, 0], [10, 0]], 'wait'],
    ['lets one payload as large as the limit through a smaller byte rate', [[2_000, 0]], 'pass'],
    ['refuses a wait longer than the bound', [[2_000, 0], [2_000, 0]], 'refuse'],
  ] as const)('%s', (_what, publishes, expected) => {
    const quota = new PublishQuota(limits, 1_000);
    let last = '';
    for (const [bytes, at] of publishes) last = quota.take('dev-1', bytes, at).action;
    expect(last).toBe(expected);
  });

  it('says which limit made it wait', () => {
    const quota = new PublishQuota({ msgsPerS: 100, bytesPerS: 100, maxPayloadBytes: 100 }, 10_000);
    quota.take('dev-1', 100, 0);
    expect(quota.take('dev-1', 50, 0)).toEqual({ action: 'wait', ms: 500, by: 'bytes' });
  });

  it('keeps devices apart and forgets idle ones', () => {
    const quota = new PublishQuota(limits, 1_000);
    quota.take('a', 10, 0);
    quota.take('a', 10, 0);
    expect(quota.take('b', 10, 0).action).toBe('pass');
    expect(quota.tracked).toBe(2);
    quota.release('a', 0);
    expect(quota.tracked).toBe(2);
    quota.sweep(60_000);
    expect(quota.tracked).toBe(0);
  });

  it('reserves nothing for a refused publish', () => {
    const quota = new PublishQuota(limits, 1_000);
    quota.take('a', 2_000, 0);
    expect(quota.take('a', 2_000, 0).action).toBe('refuse');
    expect(quota.take('a', 500, 0).action).toBe('wait');
  });
});
