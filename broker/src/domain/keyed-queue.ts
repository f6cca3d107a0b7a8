/**
 * Runs async jobs one after another per key (per device), so deliveries and presence
 * writes of one device never overtake each other; different keys run concurrently. A
 * failed job is reported to `onError` and does not stop the next.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #onError: (key: string, error: unknown) => void;

  constructor(onError: (key: string, error: unknown) => void) {
    this.#onError = onError;
  }

  run(key: string, job: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(job).catch((error: unknown) => this.#onError(key, error));
    this.#tails.set(key, next);
    void next.then(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    });
    return next;
  }

  /** Resolves when every queued job has run. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }

  get pending(): number {
    return this.#tails.size;
  }
}
