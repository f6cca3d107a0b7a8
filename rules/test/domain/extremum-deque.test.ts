import { describe, expect, it } from 'vitest';
import { ExtremumDeque } from '../../src/domain/extremum-deque.js';
import { TypedPoints } from '../../src/domain/typed-points.js';

describe('ExtremumDeque', () => {
  it('fronts the maximum and drops what a newer larger point made irrelevant', () => {
    const max = new ExtremumDeque((a, b) => a >= b);
    max.push(0, 5);
    max.push(1, 3);
    max.push(2, 4);
    expect(max.peek()).toBe(5);
    max.evict(0);
    expect(max.peek()).toBe(4);
    max.evict(1); // already dropped: nothing to do
    expect(max.peek()).toBe(4);
    max.evict(2);
    expect(max.peek()).toBeUndefined();
  });

  it('rebuilds from a window after an out-of-order insert', () => {
    const min = new ExtremumDeque((a, b) => a <= b);
    min.push(0, 5);
    const window = new TypedPoints();
    for (const [ts, value] of [[1, -1], [2, 3]] as const) window.push(ts, value);
    min.rebuild(window);
    expect(min.peek()).toBe(-1);
    min.evict(1);
    expect(min.peek()).toBe(3);
  });
});
