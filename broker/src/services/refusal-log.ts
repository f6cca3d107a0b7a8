/**
 * Warn lines for connections refused before authentication, rate-limited (issue 11, D1): a
 * flood of half-open or hostile sockets must not become a flood of log lines. Within each
 * interval the first refusal of each reason (a small, fixed set: timeouts, caps, OpenSSL's
 * verify codes) is logged as it happens; the rest are counted and logged as one summary line
 * (counts by reason, the busiest addresses) when the interval ends. Every refusal is still
 * counted in the metrics by the caller.
 */
import type { Log } from '../ports/log.js';

export interface RefusalLogOptions {
  readonly intervalMs: number;
  /** How many of the busiest addresses a summary names; default 5. */
  readonly topAddresses?: number;
}

export class RefusalLog {
  readonly #log: Log;
  readonly #options: RefusalLogOptions;
  #timer: NodeJS.Timeout | undefined;
  /** Reasons already logged in full in this interval. */
  #logged = new Set<string>();
  #reasons = new Map<string, number>();
  #addresses = new Map<string, number>();
  #suppressed = 0;

  constructor(log: Log, options: RefusalLogOptions) {
    this.#log = log;
    this.#options = options;
  }

  note(fields: { reason: string; remoteAddress: string | undefined; err?: string }, message: string): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#options.intervalMs);
      this.#timer.unref();
    }
    if (!this.#logged.has(fields.reason)) {
      this.#logged.add(fields.reason);
      this.#log.warn({ ...fields, note: `more refusals for ${fields.reason} within ${this.#options.intervalMs} ms are summarised` }, message);
      return;
    }
    this.#suppressed += 1;
    this.#reasons.set(fields.reason, (this.#reasons.get(fields.reason) ?? 0) + 1);
    const address = fields.remoteAddress ?? 'unknown';
    this.#addresses.set(address, (this.#addresses.get(address) ?? 0) + 1);
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed > 0) this.#summarise();
  }

  #flush(): void {
    this.#timer = undefined;
    this.#logged = new Set();
    if (this.#suppressed === 0) return;
    this.#summarise();
    // Keep summarising while the flood lasts.
    this.#timer = setTimeout(() => this.#flush(), this.#options.intervalMs);
    this.#timer.unref();
  }

  #summarise(): void {
    const top = [...this.#addresses.entries()].sort((a, b) => b[1] - a[1]).slice(0, this.#options.topAddresses ?? 5);
    this.#log.warn(
      { refused: this.#suppressed, reasons: Object.fromEntries(this.#reasons), topAddresses: Object.fromEntries(top), intervalMs: this.#options.intervalMs },
      `mqtt: ${this.#suppressed} more connections refused before authentication in the last ${this.#options.intervalMs} ms`,
    );
    this.#suppressed = 0;
    this.#reasons = new Map();
    this.#addresses = new Map();
  }
}
