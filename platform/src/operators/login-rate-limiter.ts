/**
 * Fixed-window limits on login attempts (issue 11, D6). One address may not guess freely
 * (`ip`), nor guess one user's password (`user from ip`): over either, 429. Attempts on one
 * user from all addresses together (`user`) are only slowed once over their limit, never
 * refused — otherwise anyone could lock `admin` out by failing on purpose from elsewhere,
 * and the right password from another client must still get in.
 */
export interface LoginRateLimiterOptions {
  /** Attempts per window from one address, and on one user from one address. */
  readonly limitPerWindow: number;
  /** Attempts per window on one user from every address together, before each is slowed. */
  readonly accountLimitPerWindow: number;
  /** How long an attempt on a user over its account limit waits before it is checked. */
  readonly slowdownMs: number;
  readonly windowMs: number;
  readonly now: () => number;
}

export type LoginVerdict = { readonly allowed: true; readonly delayMs: number } | { readonly allowed: false; readonly retryAfterS: number };

export class LoginRateLimiter {
  readonly #options: LoginRateLimiterOptions;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(options: LoginRateLimiterOptions) {
    this.#options = options;
  }

  /** Counts an attempt of `username` from `ip`: refused (with the wait), or allowed after `delayMs`. */
  attempt(ip: string, username: string): LoginVerdict {
    const now = this.#options.now();
    if (this.#hits.size > 10_000) this.#sweep(now);
    let waitMs = 0;
    for (const key of [`ip:${ip}`, `user-ip:${username}\u0000${ip}`]) {
      const entry = this.#count(key, now);
      if (entry.count > this.#options.limitPerWindow) waitMs = Math.max(waitMs, entry.resetAt - now);
    }
    if (waitMs > 0) return { allowed: false, retryAfterS: Math.ceil(waitMs / 1000) };
    // Only attempts that got past the per-address limits count against the account.
    const account = this.#count(`user:${username}`, now);
    return { allowed: true, delayMs: account.count > this.#options.accountLimitPerWindow ? this.#options.slowdownMs : 0 };
  }

  /** A successful login clears the count of that user from that address (not the address's, nor the account's). */
  succeeded(ip: string, username: string): void {
    this.#hits.delete(`user-ip:${username}\u0000${ip}`);
  }

  #count(key: string, now: number): { count: number; resetAt: number } {
    let entry = this.#hits.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.#options.windowMs };
      this.#hits.set(key, entry);
    }
    entry.count += 1;
    return entry;
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#hits) if (entry.resetAt <= now) this.#hits.delete(key);
  }
}
