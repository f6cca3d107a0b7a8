/**
 * A monotonic deque for the minimum or maximum of a sliding window: it keeps, oldest first, the
 * points that can still become the extremum, so the extremum is its front. Each point is pushed
 * and removed at most once: O(1) amortised.
 *
 * Points live in two typed arrays (times and values) that are reused in place, not as an object
 * per point: a window lives for seconds to minutes, and anything allocated per sample survives
 * the young generation and is copied by every scavenge on its way to old space (issue 12, alert
 * p99). Within a window a time appears at most once, so a point is named by its time.
 */
import { TypedPoints } from './typed-points.js';

export class ExtremumDeque {
  /** `a` dominates `b`: a newer `a` makes an older `b` irrelevant (≤ for min, ≥ for max). */
  readonly #dominates: (a: number, b: number) => boolean;
  readonly #points = new TypedPoints();

  constructor(dominates: (a: number, b: number) => boolean) {
    this.#dominates = dominates;
  }

  /** The extremum of the window, if any. */
  peek(): number | undefined {
    const points = this.#points;
    return points.size === 0 ? undefined : points.valueAt(0);
  }

  /** A point newer than every point pushed so far. */
  push(ts: number, value: number): void {
    const points = this.#points;
    while (points.size > 0 && this.#dominates(value, points.valueAt(points.size - 1))) points.pop();
    points.push(ts, value);
  }

  /** The window's oldest point (at `ts`) left it. */
  evict(ts: number): void {
    const points = this.#points;
    if (points.size > 0 && points.timeAt(0) === ts) points.shift();
  }

  /** Starts over from the window's points, oldest first. */
  rebuild(window: TypedPoints): void {
    this.#points.clear();
    for (let index = 0; index < window.size; index += 1) this.push(window.timeAt(index), window.valueAt(index));
  }
}
