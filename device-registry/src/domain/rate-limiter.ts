/**
 * A fixed-window counter per key (client IP), in memory. Keys are forgotten when their
 * window ends, and at most `maxKeys` are tracked so a flood of addresses cannot grow it.
 */
export interface RateLimiterOptions {
  readonly limit: number;
  readonly windowMs: number;
  readonly now: () => number;
  readonly maxKeys?: number;
}

export class RateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(options: RateLimiterOptions) {
    this.#options = options;
  }

  /** Counts one request; answers how long to wait when over the limit (0 = allowed). */
  take(key: string): number {
    const now = this.#options.now();
    const { limit, windowMs } = this.#options;
    let window = this.#windows.get(key);
    if (window === undefined || now - window.start >= windowMs) {
      this.#prune(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return window.count > limit ? Math.max(1, window.start + windowMs - now) : 0;
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows) if (now - window.start >= this.#options.windowMs) this.#windows.delete(key);
    const max = this.#options.maxKeys ?? 100_000;
    while (this.#windows.size >= max) {
      const oldest = this.#windows.keys().next();
      if (oldest.done === true) break;
      this.#windows.delete(oldest.value);
    }
  }
}
