import { parseDuration } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { formatEvery, ROUND_BUCKETS_MS, roundBucketAtLeast } from '../../src/domain/bucket-sizes.js';
import { bucketCount, DEFAULT_QUERY_LIMITS, resolveWindow } from '../../src/domain/query-window.js';
import { parseTimeParam } from '../../src/domain/time-param.js';

const NOW = Date.parse('2026-01-31T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('resolveWindow', () => {
  it('defaults to the last hour up to now with an automatic round bucket', () => {
    const w = resolveWindow({}, NOW);
    expect(w).toMatchObject({ from: NOW - HOUR, to: NOW, everyMs: 10_000, every: '10s' });
  });

  it('keeps an every that fits the point budget, even an unround one', () => {
    expect(resolveWindow({ from: NOW - HOUR, to: NOW, every: '7s' }, NOW)).toMatchObject({ everyMs: 7_000, every: '7s' });
    expect(resolveWindow({ from: NOW - HOUR, to: NOW, every: '1m30s' }, NOW)).toMatchObject({ everyMs: 90_000, every: '90s' });
  });

  it.each([
    ['1 hour at 1s', HOUR, '1s', '2s'],
    ['1 day at 10s', DAY, '10s', '1m'],
    ['30 days at 1s', 30 * DAY, '1s', '30m'],
    ['400 days at 1m', 400 * DAY, '1m', '6h'],
  ])('raises every to a round bucket when %s would exceed 2,000 points', (_name, span, every, expected) => {
    const w = resolveWindow({ from: NOW - span, to: NOW, every }, NOW);
    expect(w.every).toBe(expected);
    expect(bucketCount(w.from, w.to, w.everyMs)).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.maxPoints);
  });

  it('never answers more buckets than the budget, whatever the alignment of the window', () => {
    for (const span of [1_000, 59_999, HOUR + 1, DAY - 7, 7 * DAY + 13, 30 * DAY, 399 * DAY + 12_345]) {
      for (const offset of [0, 1, 999, 4_321, 86_399_999]) {
        const from = NOW - span + offset;
        for (const every of [undefined, '1s', '3s', '45s']) {
          const w = resolveWindow({ from, to: from + span, ...(every === undefined ? {} : { every }) }, NOW);
          expect(bucketCount(w.from, w.to, w.everyMs)).toBeLessThanOrEqual(2_000);
          if (every === undefined) expect(bucketCount(w.from, w.to, w.everyMs)).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.autoPoints);
          expect(parseDuration(w.every)).toEqual({ ok: true, value: w.everyMs });
        }
      }
    }
  });

  it('honours a smaller configured budget', () => {
    const limits = { ...DEFAULT_QUERY_LIMITS, maxPoints: 10, autoPoints: 5 };
    const w = resolveWindow({ from: NOW - HOUR, to: NOW, every: '1s' }, NOW, limits);
    expect(w.every).toBe('10m');
    expect(resolveWindow({ from: NOW - HOUR, to: NOW }, NOW, limits).every).toBe('15m');
  });

  it.each([
    ['from after to', { from: NOW, to: NOW - 1 }, 'from must be before to'],
    ['from equal to to', { from: NOW, to: NOW }, 'from must be before to'],
    ['a range over the maximum', { from: NOW - 401 * DAY, to: NOW }, 'at most 400d'],
    ['every below 1s', { every: '500ms' }, 'every must be at least 1s'],
    ['every of zero', { every: '0' }, 'every must be at least 1s'],
    ['an unreadable every', { every: '5 minutes' }, 'invalid duration'],
    ['an every with a regex', { every: '.*' }, 'invalid duration'],
  ])('refuses %s with a reason', (_name, input, reason) => {
    const err = thrown(() => resolveWindow(input, NOW));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toContain(reason);
  });
});

describe('round buckets', () => {
  it('formats each bucket as a duration protocol reads back', () => {
    for (const ms of ROUND_BUCKETS_MS) expect(parseDuration(formatEvery(ms))).toEqual({ ok: true, value: ms });
    expect(ROUND_BUCKETS_MS.map(formatEvery)).toEqual(expect.arrayContaining(['1s', '5s', '10s', '30s', '1m', '5m', '10m', '30m', '1h', '6h', '12h', '1d']));
    expect(formatEvery(1_500)).toBe('1500ms');
  });

  it('picks the smallest round bucket at least as large, then whole multiples of the largest', () => {
    expect(roundBucketAtLeast(1)).toBe(1_000);
    expect(roundBucketAtLeast(1_001)).toBe(2_000);
    expect(roundBucketAtLeast(HOUR)).toBe(HOUR);
    expect(roundBucketAtLeast(31 * DAY)).toBe(60 * DAY);
  });
});

describe('parseTimeParam', () => {
  it('reads epoch milliseconds and RFC 3339 times', () => {
    expect(parseTimeParam('from', '1769860800000')).toBe(NOW);
    expect(parseTimeParam('from', '2026-01-31T12:00:00Z')).toBe(NOW);
    expect(parseTimeParam('from', '2026-01-31T13:00:00.000+01:00')).toBe(NOW);
    expect(parseTimeParam('from', '2026-01-31')).toBe(NOW - 12 * HOUR);
    expect(parseTimeParam('from', undefined)).toBeUndefined();
  });

  it.each(['yesterday', '2026-01-31T12:00:00', '2026-13-45T00:00:00Z', '1e12', '-5', "0' OR 1=1", '99999999999999999'])('refuses %j naming the parameter', (text) => {
    const err = thrown(() => parseTimeParam('to', text));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toMatch(/^to must be epoch milliseconds or an RFC 3339 time/);
  });
});
