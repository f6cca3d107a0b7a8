/**
 * Holds the fleet to one type per metric: the book in memory (loaded at start), new metrics
 * written to the store before the batch that introduced them is acknowledged.
 */
import type { TelemetryBatch } from '@outpost/protocol';
import { MetricTypeBook, type TypeClaim } from '../domain/metric-types.js';
import type { MetricTypeStore } from '../ports/metric-type-store.js';

export class MetricTypeGuard {
  readonly #store: MetricTypeStore;
  readonly #now: () => number;
  #book = new MetricTypeBook();

  constructor(store: MetricTypeStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  async load(): Promise<number> {
    this.#book = new MetricTypeBook(await this.#store.load());
    return this.#book.size;
  }

  /** A conflict, or ok once the batch's new metrics are stored; rejects when the store fails. */
  async admit(batch: TelemetryBatch): Promise<TypeClaim> {
    const claim = this.#book.claim(batch);
    if (!claim.ok || claim.fresh.length === 0) return claim;
    try {
      await this.#store.add(claim.fresh, this.#now());
    } catch (err) {
      this.#book.release(claim.fresh);
      throw err;
    }
    return claim;
  }
}
