/**
 * Checks every adapter applies before a point is stored or a name reaches a query. The broker
 * validated batches already (protocol's limits); these checks are the store's own guard, so
 * a name that would break a query or a line can never get in, whoever calls.
 */
import { DEVICE_ID_RE, NAME_RE, RESERVED_NAMES } from '@outpost/protocol';
import type { AggregateFn, MetricKind, MetricValue, TelemetryPoint } from './telemetry-store.js';
import { queryInvalid } from './store-errors.js';

export const AGGREGATE_FNS: readonly AggregateFn[] = ['mean', 'min', 'max', 'last', 'count'];

/** Most buckets one range or fleet query may ask for (protects the store from huge answers). */
export const MAX_BUCKETS = 100_000;

/** Most points one raw query answers. */
export const MAX_RAW_LIMIT = 100_000;
export const DEFAULT_RAW_LIMIT = 10_000;

export function kindOf(value: MetricValue): MetricKind {
  return typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : 'string';
}

/** Names seen before (ingest repeats the same few names millions of times); bounded, cleared when full. */
const checkedNames = new Map<string, boolean>();
const CHECKED_NAMES_MAX = 10_000;

export function isName(name: string): boolean {
  let ok = checkedNames.get(name);
  if (ok === undefined) {
    ok = typeof name === 'string' && NAME_RE.test(name) && !RESERVED_NAMES.includes(name);
    if (checkedNames.size >= CHECKED_NAMES_MAX) checkedNames.clear();
    checkedNames.set(name, ok);
  }
  return ok;
}

/** Why a point cannot be stored, or undefined when it can. */
export function pointProblem(point: TelemetryPoint): string | undefined {
  if (typeof point.deviceId !== 'string' || !DEVICE_ID_RE.test(point.deviceId)) {
    return `DEVICE_ID_INVALID: device id ${JSON.stringify(String(point.deviceId)).slice(0, 80)} does not match ${DEVICE_ID_RE.source}`;
  }
  if (!Number.isSafeInteger(point.ts)) return `TS_OUT_OF_RANGE: ts ${String(point.ts)} is not an integer of epoch milliseconds`;
  let count = 0;
  for (const name in point.metrics) {
    if (!Object.hasOwn(point.metrics, name)) continue;
    count += 1;
    if (!isName(name)) return `NAME_INVALID: metric name ${JSON.stringify(name).slice(0, 80)} is invalid or reserved`;
    const value = point.metrics[name];
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `PAYLOAD_INVALID: metric ${name} is not a finite number`;
    } else if (typeof value !== 'boolean' && typeof value !== 'string') {
      return `PAYLOAD_INVALID: metric ${name} is neither number, boolean nor string`;
    }
  }
  if (count === 0) return 'PAYLOAD_INVALID: the point has no metrics';
  if (point.tags === undefined) return undefined;
  for (const [name, value] of Object.entries(point.tags)) {
    if (!isName(name)) return `NAME_INVALID: tag name ${JSON.stringify(name).slice(0, 80)} is invalid or reserved`;
    if (Object.hasOwn(point.metrics, name)) return `NAME_RESERVED: tag ${name} is named like a metric of the same sample`;
    if (typeof value !== 'string') return `PAYLOAD_INVALID: tag ${name} is not a string`;
  }
  return undefined;
}

export function checkDeviceId(deviceId: string): void {
  if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) {
    throw queryInvalid(`device id ${JSON.stringify(String(deviceId)).slice(0, 80)} does not match ${DEVICE_ID_RE.source}`);
  }
}

export function checkMetric(metric: string): void {
  if (typeof metric !== 'string' || !isName(metric)) {
    throw queryInvalid(`metric name ${JSON.stringify(String(metric)).slice(0, 80)} is invalid or reserved`);
  }
}

export function checkWindow(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw queryInvalid('from and to must be integers of epoch milliseconds');
  if (to <= from) throw queryInvalid(`to (${to}) must be after from (${from})`);
}

export interface BucketQueryShape {
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  readonly everyMs: number;
  readonly fn: AggregateFn;
}

export function checkBucketQuery(query: BucketQueryShape): void {
  checkMetric(query.metric);
  checkWindow(query.from, query.to);
  if (!AGGREGATE_FNS.includes(query.fn)) throw queryInvalid(`fn must be one of ${AGGREGATE_FNS.join(', ')}`);
  if (!Number.isSafeInteger(query.everyMs) || query.everyMs < 1) throw queryInvalid('everyMs must be a positive integer');
  const buckets = Math.ceil((query.to - query.from) / query.everyMs);
  if (buckets > MAX_BUCKETS) {
    throw queryInvalid(`the query spans ${buckets} buckets; at most ${MAX_BUCKETS} (choose a larger every)`, { buckets, max: MAX_BUCKETS });
  }
}

export function checkDeviceList(deviceIds: readonly string[] | undefined): void {
  if (deviceIds === undefined) return;
  if (!Array.isArray(deviceIds)) throw queryInvalid('deviceIds must be an array');
  for (const id of deviceIds) checkDeviceId(id);
}

/** mean/min/max only make sense for numbers. */
export function checkFnForKind(fn: AggregateFn, kind: MetricKind, metric: string): void {
  if (kind !== 'number' && fn !== 'last' && fn !== 'count') {
    throw queryInvalid(`${fn} of ${kind} metric ${metric} is not defined (use last or count)`, { metric, kind, fn });
  }
}

export function rawLimitOf(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_RAW_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RAW_LIMIT) {
    throw queryInvalid(`limit must be an integer from 1 to ${MAX_RAW_LIMIT}`);
  }
  return limit;
}

/** Bucket start of `ts`, aligned to multiples of `everyMs` since the epoch (floor, also before 1970). */
export function bucketOf(ts: number, everyMs: number): number {
  return Math.floor(ts / everyMs) * everyMs;
}
