/**
 * Waits until the demo fleet is online, reporting progress ("3/5 online") when the count changes
 * (at most once per `reportEveryMs`, and always the last count). Time is injected for tests.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOnlineOptions {
  /** How many devices should come online. */
  readonly total: number;
  /** Answers how many are online now. */
  readonly countOnline: () => Promise<number>;
  readonly timeoutMs: number;
  /** Pause between polls (default 250 ms). */
  readonly intervalMs?: number;
  /** Least time between two progress reports (default 1 s). */
  readonly reportEveryMs?: number;
  readonly report: (online: number, total: number) => void;
  /** Stops waiting early (e.g. Ctrl-C). */
  readonly stopped?: () => boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Answers how many were online when it stopped waiting (all, the deadline, or `stopped`). */
export async function waitOnline(options: WaitOnlineOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const interval = options.intervalMs ?? 250;
  const every = options.reportEveryMs ?? 1_000;
  const deadline = now() + options.timeoutMs;
  let reported = -1;
  let reportedAt = -Infinity;
  let online = 0;
  for (;;) {
    online = await options.countOnline();
    const done = online >= options.total || now() >= deadline || options.stopped?.() === true;
    if (online !== reported && (done || now() - reportedAt >= every)) {
      options.report(online, options.total);
      reported = online;
      reportedAt = now();
    }
    if (done) return online;
    await sleep(Math.max(0, Math.min(interval, deadline - now())));
  }
}
