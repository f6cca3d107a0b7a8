/**
 * agent.json is configuration, and every duration in configuration accepts a duration string
 * (SPEC "Configuration"): `"intervalMs": "10s"`, `"periodS": "1m"`. This converts those
 * strings to numbers before the schema check; everything else is left as it is.
 */
import type { PublishErrorCode } from '../errors.js';
import type { Result } from '../result.js';
import { fail, ok } from '../result.js';
import { formatPath } from '../json-path.js';
import type { PathSegment } from '../json-path.js';
import { parseDuration } from '../units.js';

const MILLISECOND_KEYS: ReadonlySet<string> = new Set([
  'intervalMs',
  'timeoutMs',
  'ms',
  'maxAgeMs',
  'minMs',
  'maxMs',
  'forMs',
  'absenceMs',
  'cooldownMs',
  'minStateMs',
  'dropWarnIntervalMs',
]);
const SECOND_KEYS: ReadonlySet<string> = new Set(['periodS']);

/** agent.json nests 6 levels deep; below this the value is left for the schema to refuse. */
const MAX_DEPTH = 16;

/** A copy of `value` with duration strings under duration keys turned into numbers. */
export function normalizeDurations(value: unknown, path: readonly PathSegment[] = []): Result<unknown, PublishErrorCode> {
  if (path.length > MAX_DEPTH) return ok(value);
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const [index, item] of value.entries()) {
      const converted = normalizeDurations(item, [...path, index]);
      if (!converted.ok) return converted;
      items.push(converted.value);
    }
    return ok(items);
  }
  if (typeof value !== 'object' || value === null) return ok(value);
  const entries: [string, unknown][] = [];
  for (const [key, child] of Object.entries(value)) {
    const seconds = SECOND_KEYS.has(key);
    if (typeof child === 'string' && (seconds || MILLISECOND_KEYS.has(key))) {
      const parsed = parseDuration(child);
      const where = formatPath([...path, key]);
      if (!parsed.ok) return fail('PAYLOAD_INVALID', `${where}: ${parsed.reason}`, where);
      entries.push([key, seconds ? parsed.value / 1000 : parsed.value]);
      continue;
    }
    const converted = normalizeDurations(child, [...path, key]);
    if (!converted.ok) return converted;
    entries.push([key, converted.value]);
  }
  return ok(Object.fromEntries(entries));
}
