import { describe, expect, it } from 'vitest';
import { rateSignal, rawSignal, windowSignal } from '../../src/domain/signal.js';
import type { Signal } from '../../src/domain/signal.js';

function feed(signal: Signal, points: readonly [number, number][]): (number | string | undefined)[] {
  return points.map(([ts, value]) => signal.next(ts, value));
}

describe('signals', () => {
  it('raw passes the operand through, strings included', () => {
    const signal = rawSignal();
    expect(signal.numeric).toBe(false);
    expect(signal.next(0, 'open')).toBe('open');
  });

  it('window aggregates over sample time and counts a backfilled point', () => {
    const signal = windowSignal({ ms: 10, fn: 'max' });
    expect(feed(signal, [[0, 1], [5, 3], [12, 2]])).toEqual([1, 3, 3]);
    signal.backfill(11, 9);
    expect(signal.next(13, 0)).toBe(9);
    expect(signal.next(22, 0)).toBe(0);
  });

  it('rate between consecutive samples; none for the first', () => {
    expect(feed(rateSignal(), [[0, 10], [1000, 12], [3000, 8]])).toEqual([undefined, 2, -2]);
  });

  it('rate over a window, from its oldest point', () => {
    expect(feed(rateSignal({ ms: 2500, fn: 'mean' }), [[0, 0], [1000, 5], [2000, 4], [3000, 6]])).toEqual([undefined, 5, 2, 0.5]);
  });

  it('window and rate ignore strings', () => {
    expect(windowSignal({ ms: 10, fn: 'mean' }).next(0, 'x')).toBeUndefined();
    expect(rateSignal().next(0, 'x')).toBeUndefined();
  });
});
