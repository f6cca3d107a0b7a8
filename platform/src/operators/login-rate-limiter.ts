/**
 * Fixed-window limiter for login attempts, keyed by client address and by
 * username, so neither one address nor a spread of addresses can guess freely.
 */
export class LoginRateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(options: { limitPerWindow: number; windowMs: number; now: () => number }) {
    this.#limit = options.limitPerWindow;
    this.#windowMs = options.windowMs;
    this.#now = options.now;
  }

  /** Counts an attempt for every key; answers the seconds to wait when any key is over its limit. */
  attempt(keys: readonly string[]): { allowed: true } | { allowed: false; retryAfterS: number } {
    const now = this.#now();
    if (this.#hits.size > 10_000) this.#sweep(now);
    let waitMs = 0;
    for (const key of keys) {
      let entry = this.#hits.get(key);
      if (entry === undefined || entry.resetAt <= now) {
        entry = { count: 0, resetAt: now + this.#windowMs };
        this.#hits.set(key, entry);
      }
      entry.count += 1;
      if (entry.count > this.#limit) waitMs = Math.max(waitMs, entry.resetAt - now);
    }
    return waitMs > 0 ? { allowed: false, retryAfterS: Math.ceil(waitMs / 1000) } : { allowed: true };
  }

  /** A successful login clears the username's count (not the address's). */
  reset(key: string): void {
    this.#hits.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#hits) if (entry.resetAt <= now) this.#hits.delete(key);
  }
}
