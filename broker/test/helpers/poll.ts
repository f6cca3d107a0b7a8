import { waitFor as pollUntil } from '@outpost/e2e';

/**
 * The one polling helper of the test harness (`waitFor` of @outpost/e2e), with the broker
 * suites' option names and their 10 ms interval. Never a fixed sleep.
 */
export function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  return pollUntil(check, { timeoutMs: options.timeoutMs ?? 5_000, intervalMs: options.intervalMs ?? 10, description: options.what ?? 'a condition' });
}

/** Resolves with the first emission of `event`, or rejects after the deadline. */
export function nextEvent<T extends unknown[]>(emitter: { once(event: string, listener: (...args: T) => void): unknown; off?(event: string, listener: (...args: T) => void): unknown }, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (...args: T): void => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off?.(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}
