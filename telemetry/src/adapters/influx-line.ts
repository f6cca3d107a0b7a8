/**
 * TelemetryPoint → InfluxDB line protocol (SPEC "InfluxDB schema"): measurement `telemetry`,
 * tag `device` plus the sample's tags (sorted), one field per metric, time in milliseconds.
 *
 * Numbers are always float fields: a whole number is written as `1`, which line protocol
 * reads as a float (an integer would need the `i` suffix, which is never written), so a metric
 * never flips between float and integer. Booleans are `true`/`false`, strings are quoted.
 *
 * Line protocol cannot carry every tag value exactly: newlines and carriage returns end a
 * line, and InfluxDB unescapes only `\,` `\=` `\ ` in tags, so a backslash cannot be written
 * unambiguously. Such a point is refused (dead letter) instead of being stored altered.
 * Empty tag values are left out (InfluxDB treats an empty tag as an absent one).
 */
import type { MetricValue, TelemetryPoint } from '../store/telemetry-store.js';

export const MEASUREMENT = 'telemetry';
export const DEVICE_TAG = 'device';

const NEEDS_ESCAPE = /[,= ]/;

/** Escapes a tag key, tag value or field key: comma, equals sign and space. */
export function escapeKey(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[,= ]/g, (char) => `\\${char}`) : text;
}

function fieldValue(value: MetricValue): string {
  if (typeof value === 'number') return `${value}`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** Why `point` cannot be written as a line (beyond pointProblem's checks), or undefined. */
export function lineProblem(point: TelemetryPoint): string | undefined {
  if (point.tags !== undefined) {
    for (const [name, value] of Object.entries(point.tags)) {
      if (/[\\\n\r]/.test(value)) return `PAYLOAD_INVALID: tag ${name} holds a backslash or line break, which line protocol cannot carry exactly`;
    }
  }
  for (const name in point.metrics) {
    const value = point.metrics[name];
    if (typeof value === 'string' && value.includes('\r')) return `PAYLOAD_INVALID: string metric ${name} holds a carriage return`;
  }
  return undefined;
}

/** `,name=` (or ` name=` for the first field) per metric name: ingest writes the same few names millions of times. */
const fieldPrefixes = new Map<string, readonly [string, string]>();
const FIELD_PREFIXES_MAX = 10_000;

function fieldPrefix(name: string, first: boolean): string {
  let prefixes = fieldPrefixes.get(name);
  if (prefixes === undefined) {
    if (fieldPrefixes.size >= FIELD_PREFIXES_MAX) fieldPrefixes.clear();
    const key = escapeKey(name);
    prefixes = [` ${key}=`, `,${key}=`];
    fieldPrefixes.set(name, prefixes);
  }
  return first ? prefixes[0] : prefixes[1];
}

/**
 * The series a point's line belongs to, as line protocol writes it: the measurement, `device`
 * and the non-empty tags sorted by name (the key the rollup's tallies are kept under).
 */
export function seriesKeyOf(deviceId: string, tags: Readonly<Record<string, string>> | undefined): string {
  // Device ids match ^[a-z0-9][a-z0-9-]{2,63}$: nothing to escape.
  return tags === undefined ? MEASUREMENT_DEVICE + deviceId : MEASUREMENT + tagText(deviceId, tags);
}

/** One line for a point already checked by pointProblem and lineProblem, under its series key. */
export function toLine(point: TelemetryPoint, key = seriesKeyOf(point.deviceId, point.tags)): string {
  let line = key;
  let first = true;
  for (const name in point.metrics) {
    const value = point.metrics[name];
    if (value === undefined) continue;
    line += fieldPrefix(name, first) + fieldValue(value);
    first = false;
  }
  return line + ' ' + String(point.ts);
}

const MEASUREMENT_DEVICE = `${MEASUREMENT},${DEVICE_TAG}=`;

/** `,device=…` and the sample's non-empty tags, sorted by name, escaped. */
function tagText(deviceId: string, tags: Readonly<Record<string, string>>): string {
  const pairs: [string, string][] = [[DEVICE_TAG, deviceId]];
  for (const [name, value] of Object.entries(tags)) if (value !== '') pairs.push([name, value]);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([name, value]) => `,${escapeKey(name)}=${escapeKey(value)}`).join('');
}
