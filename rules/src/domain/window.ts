/**
 * A sliding window over sample time: the points with `ts` in `(end − ms, end]`, where `end` is
 * the newest point's time. Points are kept sorted by time; a point older than the newest (an
 * out-of-order sample) is inserted where it belongs if it still falls in the window, and a
 * second point with the same time (a replayed sample) is ignored.
 *
 * Aggregates are kept incrementally, O(1) amortised per in-order sample: a running sum
 * (re-summed once per window's worth of evictions, which sheds floating-point drift) and
 * monotonic deques for min and max (rebuilt after an out-of-order insert, which is rare). A
 * window built for one aggregate keeps only the deque that aggregate needs (issue 12: a mean or
 * rate window does no deque work per sample); another aggregate is then computed by a scan.
 *
 * Points are kept in typed arrays reused in place (`TypedPoints`), never as an object per
 * point: with a thousand rules, per-sample objects and re-sliced arrays that live as long as
 * the window were most of what the engine's scavenges copied (issue 12, alert p99).
 */
import type { RuleWindowFn } from '@outpost/protocol';
import { ExtremumDeque } from './extremum-deque.js';
import { ratePerSecondOf } from './rate.js';
import { TypedPoints } from './typed-points.js';

export interface TimedNumber {
  readonly ts: number;
  readonly value: number;
}

export class SampleWindow {
  readonly #ms: number;
  readonly #points = new TypedPoints();
  #sum = 0;
  /** Points evicted since the sum was last recomputed from the points. */
  #evicted = 0;
  readonly #min: ExtremumDeque | undefined;
  readonly #max: ExtremumDeque | undefined;

  /** `keeps`: the aggregate it is asked for (`none`: only `rate()`); default all of them. */
  constructor(ms: number, keeps?: RuleWindowFn | 'none') {
    this.#ms = ms;
    if (keeps === undefined || keeps === 'min') this.#min = new ExtremumDeque((a, b) => a <= b);
    if (keeps === undefined || keeps === 'max') this.#max = new ExtremumDeque((a, b) => a >= b);
  }

  /** The points in the window, oldest first (a copy, as objects). */
  get points(): readonly TimedNumber[] {
    const points: TimedNumber[] = [];
    for (let index = 0; index < this.#points.size; index += 1) points.push({ ts: this.#points.timeAt(index), value: this.#points.valueAt(index) });
    return points;
  }

  get size(): number {
    return this.#points.size;
  }

  /** Change per second of sample time from the oldest to the newest point; undefined with fewer than two. */
  rate(): number | undefined {
    const points = this.#points;
    const last = points.size - 1;
    if (last < 1) return undefined;
    return ratePerSecondOf(points.timeAt(0), points.valueAt(0), points.timeAt(last), points.valueAt(last));
  }

  /** Adds a point and drops those that fell out of the window; false when it was not kept. */
  add(ts: number, value: number): boolean {
    const points = this.#points;
    const size = points.size;
    if (size === 0 || ts > points.timeAt(size - 1)) {
      points.push(ts, value);
      this.#sum += value;
      this.#min?.push(ts, value);
      this.#max?.push(ts, value);
      this.#slide(ts);
      return true;
    }
    if (ts <= points.timeAt(size - 1) - this.#ms) return false;
    let index = size;
    while (index > 0 && points.timeAt(index - 1) > ts) index -= 1;
    if (index > 0 && points.timeAt(index - 1) === ts) return false;
    points.insert(index, ts, value);
    this.#sum += value;
    this.#min?.rebuild(points);
    this.#max?.rebuild(points);
    return true;
  }

  /** mean, min or max of the points in the window; undefined when it is empty. */
  aggregate(fn: RuleWindowFn): number | undefined {
    const points = this.#points;
    if (points.size === 0) return undefined;
    if (fn === 'mean') return this.#sum / points.size;
    const deque = fn === 'min' ? this.#min : this.#max;
    if (deque !== undefined) return deque.peek();
    let extremum = fn === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    for (let index = 0; index < points.size; index += 1) {
      const value = points.valueAt(index);
      extremum = fn === 'min' ? Math.min(extremum, value) : Math.max(extremum, value);
    }
    return extremum;
  }

  #slide(end: number): void {
    const start = end - this.#ms;
    const points = this.#points;
    while (points.size > 0) {
      const oldest = points.timeAt(0);
      if (oldest > start) break;
      this.#sum -= points.valueAt(0);
      this.#min?.evict(oldest);
      this.#max?.evict(oldest);
      points.shift();
      this.#evicted += 1;
    }
    if (this.#evicted >= Math.max(16, points.size)) this.#resum();
  }

  #resum(): void {
    const points = this.#points;
    let sum = 0;
    for (let index = 0; index < points.size; index += 1) sum += points.valueAt(index);
    this.#sum = sum;
    this.#evicted = 0;
  }
}
