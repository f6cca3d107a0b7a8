import { describe, expect, it } from 'vitest';
import { ExtremumDeque } from '../../src/domain/extremum-deque.js';

const point = (ts: number, value: number) => ({ ts, value });

describe('ExtremumDeque', () => {
  it('fronts the maximum and drops what a newer larger point made irrelevant', () => {
    const max = new ExtremumDeque((a, b) => a >= b);
    const [a, b, c] = [point(0, 5), point(1, 3), point(2, 4)];
    max.push(a);
    max.push(b);
    max.push(c);
    expect(max.peek()).toBe(a);
    max.evict(a);
    expect(max.peek()).toBe(c);
    max.evict(b); // already dropped: nothing to do
    expect(max.peek()).toBe(c);
  });

  it('rebuilds from a window after an out-of-order insert', () => {
    const min = new ExtremumDeque((a, b) => a <= b);
    min.push(point(0, 5));
    min.rebuild([point(0, 5), point(1, -1), point(2, 3)], 1);
    expect(min.peek()?.value).toBe(-1);
  });
});
