import { describe, expect, it } from 'vitest';
import { TypedPoints } from '../../src/domain/typed-points.js';

const all = (points: TypedPoints): [number, number][] => Array.from({ length: points.size }, (_, i) => [points.timeAt(i), points.valueAt(i)]);

describe('TypedPoints', () => {
  it('pushes, pops and shifts in time order', () => {
    const points = new TypedPoints(2);
    points.push(1, 10);
    points.push(2, 20);
    points.push(3, 30);
    points.pop();
    points.shift();
    expect(all(points)).toEqual([[2, 20]]);
    points.shift();
    expect(points.size).toBe(0);
  });

  it('inserts anywhere, moving the newer points back', () => {
    const points = new TypedPoints(2);
    points.push(1, 10);
    points.push(4, 40);
    points.insert(1, 2, 20);
    points.insert(0, 0, 0);
    points.insert(4, 5, 50);
    expect(all(points)).toEqual([[0, 0], [1, 10], [2, 20], [4, 40], [5, 50]]);
  });

  it('keeps every point through growth and compaction, a sliding window of 100 over 10,000 pushes', () => {
    const points = new TypedPoints(4);
    for (let ts = 0; ts < 10_000; ts += 1) {
      points.push(ts, ts * 2);
      if (points.size > 100) points.shift();
      if (ts % 997 === 0) expect(all(points)).toEqual(Array.from({ length: Math.min(ts + 1, 100) }, (_, i) => [ts - Math.min(ts, 99) + i, (ts - Math.min(ts, 99) + i) * 2]));
    }
    expect(points.size).toBe(100);
    expect(points.timeAt(0)).toBe(9_900);
    expect(points.valueAt(99)).toBe(19_998);
  });
});
