/**
 * Time-ordered (time, value) pairs in two Float64Arrays used in place: push and pop at the back,
 * shift at the front, insert anywhere, indexed from the oldest. Storage grows by doubling and
 * is compacted by moving the live range to the front, so after a window has reached its size
 * a sample allocates nothing (issue 12, alert p99: a window that allocated per sample, or
 * re-sliced its arrays, produced most of what the engine's scavenges copied into old space).
 */
export class TypedPoints {
  #times: Float64Array;
  #values: Float64Array;
  #head = 0;
  #tail = 0;

  constructor(capacity = 8) {
    this.#times = new Float64Array(capacity);
    this.#values = new Float64Array(capacity);
  }

  get size(): number {
    return this.#tail - this.#head;
  }

  /** The time of the `index`-th oldest point (0 ≤ index < size). */
  timeAt(index: number): number {
    return this.#times[this.#head + index] ?? Number.NaN;
  }

  valueAt(index: number): number {
    return this.#values[this.#head + index] ?? Number.NaN;
  }

  push(ts: number, value: number): void {
    this.#makeRoom();
    this.#times[this.#tail] = ts;
    this.#values[this.#tail] = value;
    this.#tail += 1;
  }

  /** Inserts at position `index` (0 = before the oldest), moving the newer points back by one. */
  insert(index: number, ts: number, value: number): void {
    this.#makeRoom();
    const at = this.#head + index;
    this.#times.copyWithin(at + 1, at, this.#tail);
    this.#values.copyWithin(at + 1, at, this.#tail);
    this.#times[at] = ts;
    this.#values[at] = value;
    this.#tail += 1;
  }

  pop(): void {
    if (this.#tail > this.#head) this.#tail -= 1;
  }

  shift(): void {
    if (this.#tail > this.#head) this.#head += 1;
    if (this.#head === this.#tail) this.clear();
  }

  clear(): void {
    this.#head = 0;
    this.#tail = 0;
  }

  /** Ensures one free slot after the newest point: slides the points to the front, or doubles the storage. */
  #makeRoom(): void {
    const capacity = this.#times.length;
    if (this.#tail < capacity) return;
    const size = this.#tail - this.#head;
    if (size * 2 <= capacity) {
      this.#times.copyWithin(0, this.#head, this.#tail);
      this.#values.copyWithin(0, this.#head, this.#tail);
    } else {
      const times = new Float64Array(capacity * 2);
      const values = new Float64Array(capacity * 2);
      times.set(this.#times.subarray(this.#head, this.#tail));
      values.set(this.#values.subarray(this.#head, this.#tail));
      this.#times = times;
      this.#values = values;
    }
    this.#head = 0;
    this.#tail = size;
  }
}
