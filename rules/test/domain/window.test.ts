import { describe, expect, it } from 'vitest';
import type { RuleWindowFn } from '@outpost/protocol';
import { SampleWindow } from '../../src/domain/window.js';
import type { TimedNumber } from '../../src/domain/window.js';

function windowOf(ms: number, points: readonly [number, number][]): SampleWindow {
  const window = new SampleWindow(ms);
  for (const [ts, value] of points) window.add(ts, value);
  return window;
}

/** The obvious definition, to check the incremental one against. */
function naive(points: readonly TimedNumber[], fn: RuleWindowFn): number | undefined {
  if (points.length === 0) return undefined;
  const values = points.map((p) => p.value);
  if (fn === 'min') return Math.min(...values);
  if (fn === 'max') return Math.max(...values);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** A small deterministic PRNG (mulberry32), so the randomised test replays exactly. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SampleWindow', () => {
  it('keeps the points in (end − ms, end]', () => {
    const window = windowOf(1000, [
      [0, 1],
      [500, 2],
      [1000, 3],
      [1500, 4],
    ]);
    expect(window.points.map((p) => p.ts)).toEqual([1000, 1500]);
  });

  it('inserts an out-of-order point in time order while it is still in the window', () => {
    const window = windowOf(1000, [
      [0, 1],
      [600, 3],
    ]);
    expect(window.add(300, 2)).toBe(true);
    expect(window.points.map((p) => p.value)).toEqual([1, 2, 3]);
  });

  it('refuses an out-of-order point older than the window, and a duplicate time', () => {
    const window = windowOf(1000, [
      [1000, 1],
      [1500, 3],
    ]);
    expect(window.add(500, 9)).toBe(false);
    expect(window.add(1000, 9)).toBe(false);
    expect(window.points.map((p) => p.value)).toEqual([1, 3]);
  });

  it.each<[RuleWindowFn, number]>([
    ['mean', 3],
    ['min', -2],
    ['max', 7],
  ])('aggregates the %s', (fn, expected) => {
    expect(windowOf(10, [[1, 4], [2, -2], [3, 7]]).aggregate(fn)).toBe(expected);
  });

  it('is empty before its first point', () => {
    expect(new SampleWindow(10).aggregate('max')).toBeUndefined();
  });

  it('forgets an extremum once it leaves the window', () => {
    const window = windowOf(3, [[0, 9], [1, 1], [2, 2]]);
    expect(window.aggregate('max')).toBe(9);
    window.add(3, 0);
    expect(window.aggregate('max')).toBe(2);
    expect(window.aggregate('min')).toBe(0);
  });

  it.each<RuleWindowFn>(['mean', 'min', 'max'])('agrees with the naive %s over 5,000 random points, some out of order', (fn) => {
    const random = prng(fn.length);
    const window = new SampleWindow(250);
    let ts = 0;
    for (let step = 0; step < 5000; step += 1) {
      const late = random() < 0.1;
      const at = late ? ts - Math.floor(random() * 300) : (ts += 1 + Math.floor(random() * 20));
      window.add(at, Math.round(random() * 2000 - 1000) / 10);
      const expected = naive(window.points, fn);
      const actual = window.aggregate(fn);
      if (fn === 'mean') expect(actual).toBeCloseTo(expected ?? Number.NaN, 9);
      else expect(actual).toBe(expected);
    }
  });
  it.each<[RuleWindowFn | 'none', RuleWindowFn]>([
    ['mean', 'max'],
    ['mean', 'min'],
    ['max', 'min'],
    ['min', 'max'],
    ['none', 'mean'],
    ['none', 'max'],
  ])('built to keep %s, still answers %s (by a scan) as the full window does', (keeps, fn) => {
    const random = prng(keeps.length + fn.length);
    const kept = new SampleWindow(250, keeps);
    const full = new SampleWindow(250);
    let ts = 0;
    for (let step = 0; step < 2000; step += 1) {
      const late = random() < 0.1;
      const at = late ? ts - Math.floor(random() * 300) : (ts += 1 + Math.floor(random() * 20));
      const value = Math.round(random() * 2000 - 1000) / 10;
      expect(kept.add(at, value)).toBe(full.add(at, value));
      if (fn === 'mean') expect(kept.aggregate(fn)).toBeCloseTo(full.aggregate(fn) ?? Number.NaN, 9);
      else expect(kept.aggregate(fn)).toBe(full.aggregate(fn));
    }
  });
});

describe('SampleWindow.rate', () => {
  it('is the change per second from the oldest to the newest point in the window', () => {
    const window = new SampleWindow(2500, 'none');
    expect(window.rate()).toBeUndefined();
    window.add(0, 0);
    expect(window.rate()).toBeUndefined();
    window.add(1000, 5);
    expect(window.rate()).toBe(5);
    window.add(3000, 6);
    expect(window.rate()).toBe(0.5);
    expect(window.points).toEqual([
      { ts: 1000, value: 5 },
      { ts: 3000, value: 6 },
    ]);
  });
});
