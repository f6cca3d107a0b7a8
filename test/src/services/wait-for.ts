import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** What is awaited, for the error message: "influxd to answer GET /ping with 204" (default "a condition"). */
  readonly description?: string;
  /** Overall deadline in milliseconds, measured from the call (default 5 s). */
  readonly timeoutMs?: number;
  /** Pause between attempts (default 50 ms); never waits past the deadline. */
  readonly intervalMs?: number;
  /**
   * Checked before every attempt and while one runs: an Error stops waiting at once
   * (for example "the process exited"), so a dead service fails fast, not at the deadline.
   */
  readonly abortIf?: () => Error | undefined;
  readonly signal?: AbortSignal;
}

export class WaitForTimeoutError extends Error {
  readonly code = 'TEST_ERR_WAIT_TIMEOUT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WaitForTimeoutError';
  }
}

type Outcome<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'aborted'; readonly reason: Error }
  | { readonly kind: 'deadline' };

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns
 * that. A probe that throws counts as "not yet" (its last error is reported on timeout).
 * Polling with a deadline replaces fixed sleeps: the call returns as soon as the condition
 * holds and fails with a useful message when it never does.
 */
export async function waitFor<T>(
  probe: () => Promise<T | false | undefined> | T | false | undefined,
  options: WaitForOptions = {},
): Promise<T> {
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 5_000);
  let attempts = 0;
  let lastError: unknown;

  for (;;) {
    options.signal?.throwIfAborted();
    const aborted = options.abortIf?.();
    if (aborted) throw aborted;

    attempts += 1;
    const outcome = await attempt(probe, deadline, options.abortIf);
    if (outcome.kind === 'aborted') throw outcome.reason;
    if (outcome.kind === 'failed') lastError = outcome.error;
    if (outcome.kind === 'value' && outcome.value !== undefined && outcome.value !== false) {
      return outcome.value;
    }

    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new WaitForTimeoutError(
        `timed out after ${Date.now() - started} ms (${attempts} attempts) waiting for ${options.description ?? 'a condition'}${detail}`,
        { cause: lastError },
      );
    }
    await delay(Math.min(intervalMs, remaining), undefined, { signal: options.signal });
  }
}

/** Runs one attempt, giving up when the deadline passes or `abortIf` reports an error. */
async function attempt<T>(
  probe: () => Promise<T> | T,
  deadline: number,
  abortIf: (() => Error | undefined) | undefined,
): Promise<Outcome<T>> {
  const watchdog = new AbortController();
  const watch = async (): Promise<Outcome<T>> => {
    // Re-checks the abort condition while a slow attempt runs.
    try {
      while (Date.now() < deadline) {
        await delay(Math.min(100, Math.max(1, deadline - Date.now())), undefined, {
          signal: watchdog.signal,
        });
        const reason = abortIf?.();
        if (reason) return { kind: 'aborted', reason };
      }
    } catch {
      // The attempt settled first and stopped the watchdog; the race is already decided.
    }
    return { kind: 'deadline' };
  };
  const run = Promise.resolve()
    .then(probe)
    .then(
      (value): Outcome<T> => ({ kind: 'value', value }),
      (error: unknown): Outcome<T> => ({ kind: 'failed', error }),
    );
  try {
    return await Promise.race([run, watch()]);
  } finally {
    watchdog.abort();
  }
}
