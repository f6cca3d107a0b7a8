/**
 * Counts a collector's problems and logs them without flooding the log: a problem is logged the
 * first time, when it changes, and then every `every`-th repeat (with the repeat count).
 */
import type { CollectorLog, CollectorStats } from './collector-source.js';

export class ErrorCounter {
  private errors = 0;
  private lastError: string | undefined;
  private repeats = 0;

  constructor(
    private readonly context: object,
    private readonly log: CollectorLog | undefined,
    private readonly every = 60,
  ) {}

  report(message: string, detail: object = {}): void {
    this.errors += 1;
    if (message === this.lastError) {
      this.repeats += 1;
      if (this.repeats % this.every !== 0) return;
    } else {
      this.repeats = 0;
    }
    this.lastError = message;
    this.log?.warn({ ...this.context, ...detail, errors: this.errors, repeats: this.repeats }, `collector: ${message}`);
  }

  stats(): CollectorStats {
    return this.lastError === undefined ? { errors: this.errors } : { errors: this.errors, lastError: this.lastError };
  }
}
