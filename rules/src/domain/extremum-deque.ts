/**
 * A monotonic deque for the minimum or maximum of a sliding window: it keeps, oldest first, the
 * points that can still become the extremum, so the extremum is its front. Each point is pushed
 * and removed at most once: O(1) amortised.
 */
export interface DequePoint {
  readonly ts: number;
  readonly value: number;
}

export class ExtremumDeque {
  /** `a` dominates `b`: a newer `a` makes an older `b` irrelevant (≤ for min, ≥ for max). */
  readonly #dominates: (a: number, b: number) => boolean;
  #items: DequePoint[] = [];
  #head = 0;

  constructor(dominates: (a: number, b: number) => boolean) {
    this.#dominates = dominates;
  }

  /** The extremum of the window, if any. */
  peek(): DequePoint | undefined {
    return this.#items[this.#head];
  }

  /** A point newer than every point pushed so far. */
  push(point: DequePoint): void {
    const items = this.#items;
    while (items.length > this.#head && this.#dominates(point.value, items[items.length - 1]?.value ?? 0)) items.pop();
    items.push(point);
  }

  /** The window's oldest point left it. */
  evict(point: DequePoint): void {
    if (this.#items[this.#head] !== point) return;
    this.#head += 1;
    if (this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Starts over from the window's points (`points` from `from` on, oldest first). */
  rebuild(points: readonly DequePoint[], from: number): void {
    this.#items = [];
    this.#head = 0;
    for (let index = from; index < points.length; index += 1) {
      const point = points[index];
      if (point !== undefined) this.push(point);
    }
  }
}
