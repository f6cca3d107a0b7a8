/** Timers the broker waits on (withheld PUBACKs); shutdown cancels them all at once. */
export class CancellableWaits {
  readonly #pending = new Map<NodeJS.Timeout, (done: boolean) => void>();

  /** Resolves true after `ms`, or false when cancelled first. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      this.#pending.set(timer, resolve);
    });
  }

  cancelAll(): void {
    for (const [timer, resolve] of this.#pending) {
      clearTimeout(timer);
      resolve(false);
    }
    this.#pending.clear();
  }

  get size(): number {
    return this.#pending.size;
  }
}
