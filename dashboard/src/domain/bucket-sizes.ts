/**
 * Round bucket sizes for time-series answers (what a person reads on an axis), smallest first.
 * A chosen `every` is the smallest of these that keeps a series within its point budget; past
 * the last one, whole multiples of it.
 */
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const ROUND_BUCKETS_MS: readonly number[] = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  30 * DAY,
];

const LARGEST = 30 * DAY;

/** The smallest round bucket of at least `ms`. */
export function roundBucketAtLeast(ms: number): number {
  for (const size of ROUND_BUCKETS_MS) if (size >= ms) return size;
  return Math.ceil(ms / LARGEST) * LARGEST;
}

const UNITS: readonly (readonly [number, string])[] = [
  [DAY, 'd'],
  [HOUR, 'h'],
  [MINUTE, 'm'],
  [SECOND, 's'],
];

/**
 * A bucket size as the duration string the API answers (`10s`, `5m`, `6h`, `1d`): the largest
 * unit that divides it exactly, so `parseDuration` reads back the same number.
 */
export function formatEvery(ms: number): string {
  for (const [size, unit] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
