import { OutpostError, parseDuration } from '@outpost/protocol';
import { formatEvery, roundBucketAtLeast } from './bucket-sizes.js';

/** Limits of a telemetry query; each one is a part option. */
export interface QueryLimits {
  /** Most points one series may answer (buckets are widened to stay within it). */
  readonly maxPoints: number;
  /** Points an automatic `every` aims for. */
  readonly autoPoints: number;
  /** Longest `to - from` accepted. */
  readonly maxRangeMs: number;
  /** The window when `from` is absent: `to - defaultRangeMs`. */
  readonly defaultRangeMs: number;
  /** Smallest `every` accepted (SPEC: every ≥ 1 s). */
  readonly minEveryMs: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  maxPoints: 2_000,
  autoPoints: 400,
  maxRangeMs: 400 * 86_400_000,
  defaultRangeMs: 3_600_000,
  minEveryMs: 1_000,
});

/** The time window and bucket of a query, resolved and checked. */
export interface QueryWindow {
  readonly from: number;
  readonly to: number;
  readonly everyMs: number;
  /** `everyMs` as a duration string (`10s`, `5m`), as answered. */
  readonly every: string;
}

export interface WindowInput {
  readonly from?: number;
  readonly to?: number;
  /** As sent: a duration string (`10s`, `5m`); absent = automatic. */
  readonly every?: string;
}

function invalid(message: string, field: string): OutpostError {
  return new OutpostError('VALIDATION_FAILED', message, { details: [{ path: `querystring/${field}`, message }] });
}

/**
 * Most buckets `[from, to)` can touch with buckets of `everyMs` aligned to the epoch: the
 * window rarely starts on a bucket boundary, so one more than `span / every`.
 */
export function bucketCount(from: number, to: number, everyMs: number): number {
  return Math.floor((to - 1) / everyMs) - Math.floor(from / everyMs) + 1;
}

/**
 * The smallest round bucket size (never below `floorMs`) that keeps `[from, to)` within
 * `points` buckets.
 */
function bucketFor(from: number, to: number, points: number, floorMs: number): number {
  let every = roundBucketAtLeast(Math.max(floorMs, Math.ceil((to - from) / Math.max(1, points - 1))));
  while (bucketCount(from, to, every) > points) every = roundBucketAtLeast(every + 1);
  return every;
}

/**
 * Resolves `from`/`to` (defaults: the last `defaultRangeMs` up to now) and the bucket: the
 * `every` asked for, raised to a round bucket when the window would answer more than
 * `maxPoints` points; absent, a round bucket that gives about `autoPoints`. Throws
 * `VALIDATION_FAILED` (400) naming the reason for a window the API refuses.
 */
export function resolveWindow(input: WindowInput, now: number, limits: QueryLimits = DEFAULT_QUERY_LIMITS): QueryWindow {
  const to = input.to ?? now;
  const from = input.from ?? to - limits.defaultRangeMs;
  if (from < 0) throw invalid(`from must not be before 1970 (got ${from})`, 'from');
  if (from >= to) throw invalid(`from must be before to (from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()})`, 'from');
  if (to - from > limits.maxRangeMs) {
    throw invalid(`the range from..to must be at most ${formatEvery(limits.maxRangeMs)} (got ${formatEvery(Math.ceil((to - from) / 1_000) * 1_000)})`, 'to');
  }
  let asked: number | undefined;
  if (input.every !== undefined) {
    const parsed = parseDuration(input.every);
    if (!parsed.ok) throw invalid(`every: ${parsed.reason}`, 'every');
    if (parsed.value < limits.minEveryMs) throw invalid(`every must be at least ${formatEvery(limits.minEveryMs)} (got "${input.every}")`, 'every');
    asked = parsed.value;
  }
  let everyMs: number;
  if (asked === undefined) {
    everyMs = bucketFor(from, to, Math.min(limits.autoPoints, limits.maxPoints), limits.minEveryMs);
  } else if (bucketCount(from, to, asked) <= limits.maxPoints) {
    everyMs = asked;
  } else {
    everyMs = bucketFor(from, to, limits.maxPoints, asked);
  }
  return { from, to, everyMs, every: formatEvery(everyMs) };
}
