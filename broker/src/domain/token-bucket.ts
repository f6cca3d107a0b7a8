/**
 * A token bucket with reservations: `reserve` takes the cost at once (the balance may go
 * negative) and answers how long the caller must wait until the debt is repaid. So a burst
 * of publishes is served in order at the configured rate, each one waiting its turn. Pure:
 * time comes in as an argument.
 */
export class TokenBucket {
  readonly #ratePerS: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;

  /** `capacity` is the burst allowance (at least one second's worth is sensible). */
  constructor(ratePerS: number, capacity: number, now: number) {
    if (!(ratePerS > 0) || !(capacity > 0)) throw new RangeError('rate and capacity must be positive');
    this.#ratePerS = ratePerS;
    this.#capacity = capacity;
    this.#tokens = capacity;
    this.#at = now;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#ratePerS) / 1000);
    this.#at = Math.max(this.#at, now);
  }

  /** Milliseconds until `cost` would be covered, without taking it. */
  waitFor(cost: number, now: number): number {
    this.#refill(now);
    const after = this.#tokens - cost;
    return after >= 0 ? 0 : Math.ceil((-after * 1000) / this.#ratePerS);
  }

  /** Takes `cost` and answers the wait in ms until the balance is back to zero (0 = now). */
  reserve(cost: number, now: number): number {
    const wait = this.waitFor(cost, now);
    this.#tokens -= cost;
    return wait;
  }

  /** Whether the bucket is full (nothing owed, nothing spent): an idle device's can be dropped. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#capacity;
  }
}
