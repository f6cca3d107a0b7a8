/**
 * Serialises writes to one file under an fsync policy and resolves each submitted item only
 * once its group is written (and synced, when the policy syncs):
 * - `always`: one item per flush (the flush fsyncs it), so every append pays its own fsync;
 * - `batch`: the first item of an idle queue lingers `lingerMs` for company, then the whole
 *   queue is flushed at once (group commit); items arriving during a flush form the next group,
 *   flushed as soon as the previous one returns;
 * - `none`: whatever is queued is flushed at once, without linger.
 * A failed flush rejects the items of its group only.
 */
import type { FsyncPolicy } from './outbox-types.js';

interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class CommitQueue<T> {
  private queue: Waiting<T>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private drained: (() => void)[] = [];

  constructor(
    private readonly policy: FsyncPolicy,
    private readonly lingerMs: number,
    private readonly flush: (items: readonly T[]) => Promise<void>,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when nothing is queued or being written (a lingering group is flushed at once). */
  drain(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.run();
    }
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private kick(): void {
    if (this.running || this.timer !== undefined) return;
    if (this.policy === 'batch' && this.lingerMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.run();
      }, this.lingerMs);
    } else {
      void this.run();
    }
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0) {
      const group = this.policy === 'always' ? this.queue.splice(0, 1) : this.queue.splice(0);
      try {
        await this.flush(group.map((waiting) => waiting.item));
        for (const waiting of group) waiting.resolve();
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
    this.running = false;
    const drained = this.drained;
    this.drained = [];
    for (const resolve of drained) resolve();
  }
}
