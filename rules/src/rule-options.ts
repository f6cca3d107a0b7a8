/** Options shared by every rule operator. */
import type { Rule } from '@outpost/protocol';
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike } from 'rxjs';
import { createWatermarks } from './domain/watermarks.js';
import type { Watermarks } from './domain/watermarks.js';

export interface RuleOptions {
  /** Timers of absence rules run on it; `at` is read from it. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /**
   * Allowed lateness: a threshold or rate transition whose deciding sample time is more than
   * this behind the newer of its device's watermark and its own arrival time is emitted with
   * `late: true`. `Infinity` marks nothing late.
   */
  readonly latenessMs: number;
  /** The time stamped as `at`; default the scheduler's `now()`. */
  readonly now?: () => number;
  /**
   * Per-device watermarks shared between operators (the engine keeps one and observes every
   * sample of every metric into it); default: each subscription keeps its own over the samples
   * it receives.
   */
  readonly watermarks?: Watermarks;
  /**
   * Devices an absence rule expects to hear from: their silence is timed from the subscription
   * instead of from their first sample (so a device that never reports again after a restart
   * still fires). Default: none.
   */
  readonly expectedDevices?: (rule: Rule) => Iterable<string>;
  /**
   * An alert of this rule and device already open (e.g. stored by another node before this one
   * took the device over): the sample time it fired at. A series or absence timer created for the
   * device then starts firing (so the next clear sample resolves it), and a threshold/rate series
   * treats samples up to that time as seen. Default: none open.
   */
  readonly openSince?: (rule: Rule, deviceId: string) => number | undefined;
}

export interface ResolvedRuleOptions {
  readonly scheduler: SchedulerLike;
  readonly latenessMs: number;
  readonly now: () => number;
  readonly watermarks: Watermarks;
  readonly expectedDevices: (rule: Rule) => Iterable<string>;
}

/** Defaults filled in; call once per subscription (a fresh watermark store when none is shared). */
export function resolveRuleOptions(options: RuleOptions): ResolvedRuleOptions {
  const scheduler = options.scheduler ?? asyncScheduler;
  return {
    scheduler,
    latenessMs: options.latenessMs,
    now: options.now ?? (() => scheduler.now()),
    watermarks: options.watermarks ?? createWatermarks(),
    expectedDevices: options.expectedDevices ?? (() => []),
  };
}
