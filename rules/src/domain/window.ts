/**
 * A sliding window over sample time: the points with `ts` in `(end − ms, end]`, where `end` is
 * the newest point's time. Points are kept sorted by time; a point older than the newest (an
 * out-of-order sample) is inserted where it belongs if it still falls in the window, and a
 * second point with the same time (a replayed sample) is ignored.
 *
 * Aggregates are kept incrementally, O(1) amortised per in-order sample: a running sum
 * (re-summed whenever the array is compacted, which sheds floating-point drift) and monotonic
 * deques for min and max (rebuilt after an out-of-order insert, which is rare). A window
 * built for one aggregate keeps only the deque that aggregate needs (issue 12: a mean or rate
 * window does no deque work per sample); another aggregate is then computed by a scan.
 */
import type { RuleWindowFn } from '@outpost/protocol';
import { ExtremumDeque } from './extremum-deque.js';

export interface TimedNumber {
  readonly ts: number;
  readonly value: number;
}

export class SampleWindow {
  readonly #ms: number;
  /** Points from `#head` on are in the window; the evicted prefix is compacted away in bulk. */
  #points: TimedNumber[] = [];
  #head = 0;
  #sum = 0;
  readonly #min: ExtremumDeque | undefined;
  readonly #max: ExtremumDeque | undefined;

  /** `keeps`: the aggregate it is asked for (`none`: only `first`/`last`); default all of them. */
  constructor(ms: number, keeps?: RuleWindowFn | 'none') {
    this.#ms = ms;
    if (keeps === undefined || keeps === 'min') this.#min = new ExtremumDeque((a, b) => a <= b);
    if (keeps === undefined || keeps === 'max') this.#max = new ExtremumDeque((a, b) => a >= b);
  }

  /** The points in the window, oldest first. */
  get points(): readonly TimedNumber[] {
    return this.#points.slice(this.#head);
  }

  get size(): number {
    return this.#points.length - this.#head;
  }

  /** The oldest point in the window, if any. */
  get first(): TimedNumber | undefined {
    return this.#points[this.#head];
  }

  /** The newest point, if any. */
  get last(): TimedNumber | undefined {
    return this.size === 0 ? undefined : this.#points.at(-1);
  }

  /** Adds a point and drops those that fell out of the window; false when it was not kept. */
  add(ts: number, value: number): boolean {
    const point = { ts, value };
    const end = this.last?.ts;
    if (end === undefined || ts > end) {
      this.#points.push(point);
      this.#sum += value;
      this.#min?.push(point);
      this.#max?.push(point);
      this.#slide(ts);
      return true;
    }
    if (ts <= end - this.#ms) return false;
    const points = this.#points;
    let index = points.length;
    while (index > this.#head && (points[index - 1]?.ts ?? Number.NEGATIVE_INFINITY) > ts) index -= 1;
    if (index > this.#head && points[index - 1]?.ts === ts) return false;
    points.splice(index, 0, point);
    this.#sum += value;
    this.#min?.rebuild(points, this.#head);
    this.#max?.rebuild(points, this.#head);
    return true;
  }

  /** mean, min or max of the points in the window; undefined when it is empty. */
  aggregate(fn: RuleWindowFn): number | undefined {
    if (this.size === 0) return undefined;
    if (fn === 'mean') return this.#sum / this.size;
    const deque = fn === 'min' ? this.#min : this.#max;
    if (deque !== undefined) return deque.peek()?.value;
    let extremum = fn === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    for (let index = this.#head; index < this.#points.length; index += 1) {
      const value = this.#points[index]?.value ?? extremum;
      extremum = fn === 'min' ? Math.min(extremum, value) : Math.max(extremum, value);
    }
    return extremum;
  }

  #slide(end: number): void {
    const start = end - this.#ms;
    const points = this.#points;
    while (this.#head < points.length) {
      const oldest = points[this.#head];
      if (oldest === undefined || oldest.ts > start) break;
      this.#sum -= oldest.value;
      this.#min?.evict(oldest);
      this.#max?.evict(oldest);
      this.#head += 1;
    }
    if (this.#head * 2 >= points.length) this.#compact();
  }

  #compact(): void {
    this.#points = this.#points.slice(this.#head);
    this.#head = 0;
    let sum = 0;
    for (const { value } of this.#points) sum += value;
    this.#sum = sum;
  }
}
