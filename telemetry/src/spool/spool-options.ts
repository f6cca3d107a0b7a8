import { CONSUMER_NAME_RE } from './cursor-file.js';
import { spoolError } from './spool-errors.js';
import type { SpoolOptions } from './spool-types.js';

export const DEFAULT_SPOOL_MAX_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_SPOOL_SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * No linger (issue 12, alert latency): a fixed 2 ms linger held the first append of every group
 * after an idle spell for 2 ms; under load the writer is never idle and groups form during each
 * fsync anyway (bench alerts.js: append → durable p50 2.8 → 0.7 ms, same CPU).
 */
export const DEFAULT_SPOOL_GROUP_COMMIT_MS = 0;
export const DEFAULT_SPOOL_NEAR_FULL_RATIO = 0.8;
export const DEFAULT_SPOOL_TAIL_CACHE_BYTES = 8 * 1024 * 1024;
/**
 * Issue 12: each consumer committed after every read it handled, and every commit wrote and
 * fdatasynced its cursor file (~65 a second for the two consumers in `bench broker.js`). Each
 * file operation wakes a thread of libuv's pool, and on a busy 2-core machine the broker's
 * thread pays for that wake-up: the cursor writes took ~5 % of its time in a CPU profile.
 * 100 ms bounds them to 10 a second per consumer; a crash replays at most 100 ms more.
 */
export const DEFAULT_SPOOL_CURSOR_SYNC_MS = 100;
const MIN_MAX_BYTES = 4096;

export interface ResolvedSpoolOptions {
  readonly dir: string;
  readonly consumers: readonly string[];
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly groupCommitMs: number;
  readonly nearFullRatio: number;
  readonly tailCacheBytes: number;
  readonly cursorSyncMs: number;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * Applies defaults and validates, listing every problem at once (SPOOL_OPTIONS_INVALID).
 * A segment is at most a quarter of maxBytes, so that once every consumer has caught up the
 * spool shrinks to its active segment — below the nearFull threshold.
 */
export function resolveSpoolOptions(options: SpoolOptions): ResolvedSpoolOptions {
  const problems: string[] = [];
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  if (!isPositiveInteger(maxBytes) || maxBytes < MIN_MAX_BYTES) problems.push(`maxBytes must be an integer ≥ ${MIN_MAX_BYTES}`);
  const quarter = Math.floor(maxBytes / 4);
  const segmentBytes = options.segmentBytes ?? Math.min(DEFAULT_SPOOL_SEGMENT_BYTES, quarter);
  if (!isPositiveInteger(segmentBytes) || segmentBytes > quarter) {
    problems.push(`segmentBytes must be a positive integer ≤ maxBytes / 4 (${quarter})`);
  }
  const groupCommitMs = options.groupCommitMs ?? DEFAULT_SPOOL_GROUP_COMMIT_MS;
  if (typeof groupCommitMs !== 'number' || !Number.isFinite(groupCommitMs) || groupCommitMs < 0 || groupCommitMs > 1000) {
    problems.push('groupCommitMs must be a number of milliseconds in 0..1000');
  }
  const nearFullRatio = options.nearFullRatio ?? DEFAULT_SPOOL_NEAR_FULL_RATIO;
  if (typeof nearFullRatio !== 'number' || !(nearFullRatio > 0 && nearFullRatio <= 1)) {
    problems.push('nearFullRatio must be in (0, 1]');
  }
  const tailCacheBytes = options.tailCacheBytes ?? DEFAULT_SPOOL_TAIL_CACHE_BYTES;
  if (typeof tailCacheBytes !== 'number' || !Number.isSafeInteger(tailCacheBytes) || tailCacheBytes < 0) {
    problems.push('tailCacheBytes must be a whole number of bytes ≥ 0');
  }
  const cursorSyncMs = options.cursorSyncMs ?? DEFAULT_SPOOL_CURSOR_SYNC_MS;
  if (typeof cursorSyncMs !== 'number' || !Number.isFinite(cursorSyncMs) || cursorSyncMs < 0 || cursorSyncMs > 10_000) {
    problems.push('cursorSyncMs must be a number of milliseconds in 0..10000');
  }
  if (typeof options.dir !== 'string' || options.dir === '') problems.push('dir must be a non-empty path');
  if (!Array.isArray(options.consumers) || options.consumers.length === 0) {
    problems.push('consumers must name at least one consumer');
  } else {
    for (const name of options.consumers) {
      if (typeof name !== 'string' || !CONSUMER_NAME_RE.test(name)) problems.push(`consumer name ${JSON.stringify(name)} must match ${CONSUMER_NAME_RE.source}`);
    }
    if (new Set(options.consumers).size !== options.consumers.length) problems.push('consumer names must be unique');
  }
  if (problems.length > 0) {
    throw spoolError('SPOOL_OPTIONS_INVALID', `invalid spool options: ${problems.join('; ')}`, { details: problems });
  }
  return Object.freeze({
    dir: options.dir,
    consumers: Object.freeze([...options.consumers]),
    maxBytes,
    segmentBytes,
    groupCommitMs,
    nearFullRatio,
    tailCacheBytes,
    cursorSyncMs,
  });
}
