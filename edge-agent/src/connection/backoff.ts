/**
 * Exponential backoff with full jitter, bounded by `minMs`/`maxMs`: attempt n waits a random
 * time in [minMs, min(maxMs, minMs·2ⁿ)]. Randomness is injected so tests are exact.
 */
import { OutpostError } from '@outpost/protocol';

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
  /** Returns a number in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

export interface Backoff {
  /** The wait before the next attempt; each call counts one more failure. */
  next(): number;
  /** A success: the next failure starts again at minMs. */
  reset(): void;
  readonly attempts: number;
}

export function checkBackoffBounds(minMs: number, maxMs: number): void {
  if (!Number.isFinite(minMs) || !Number.isFinite(maxMs) || minMs < 1 || maxMs < minMs) {
    throw new OutpostError('AGENT_CONFIG_INVALID', `reconnect: need 1 ≤ minMs ≤ maxMs, got minMs ${minMs}, maxMs ${maxMs}`);
  }
}

/** The upper bound of the wait after `attempt` failures (0-based). */
export function backoffCeiling(attempt: number, minMs: number, maxMs: number): number {
  const exp = Math.min(attempt, 40);
  return Math.min(maxMs, minMs * 2 ** exp);
}

export function createBackoff(options: BackoffOptions): Backoff {
  checkBackoffBounds(options.minMs, options.maxMs);
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next(): number {
      const ceiling = backoffCeiling(attempts, options.minMs, options.maxMs);
      attempts += 1;
      return Math.round(options.minMs + random() * (ceiling - options.minMs));
    },
    reset(): void {
      attempts = 0;
    },
    get attempts(): number {
      return attempts;
    },
  };
}
