/**
 * The InfluxQL statements of the InfluxDB store. Identifiers are quoted with escapeIdentifier,
 * values are bound parameters; the only text spliced in is checked first: integers (the
 * bucket width) and device ids matching `^[a-z0-9][a-z0-9-]{2,63}$` (in a regex literal, where
 * InfluxQL takes no parameter).
 */
import { DEVICE_ID_RE } from '@outpost/protocol';
import type { AggregateFn } from '../store/telemetry-store.js';
import { escapeIdentifier } from './influxql.js';
import { DEVICE_TAG, MEASUREMENT } from './influx-line.js';

export type Params = Record<string, string | number | boolean>;

export interface Statement {
  readonly query: string;
  readonly params: Params;
}

const FROM = escapeIdentifier(MEASUREMENT);
const DEVICE = escapeIdentifier(DEVICE_TAG);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `"device" =~ /^(?:a|b)$/` for checked ids (no regex metacharacters but `-`, which is literal outside a class). */
export function deviceRegex(deviceIds: readonly string[]): string {
  for (const id of deviceIds) if (!DEVICE_ID_RE.test(id)) throw new Error(`unchecked device id ${JSON.stringify(id)}`);
  return `${DEVICE} =~ /^(?:${deviceIds.join('|')})$/`;
}

export function bucketStatement(
  query: { metric: string; from: number; to: number; everyMs: number; fn: AggregateFn },
  devices: { one: string } | { list: readonly string[] } | 'all',
): Statement {
  if (!Number.isSafeInteger(query.everyMs) || query.everyMs < 1) throw new Error('unchecked everyMs');
  const params: Params = { from: iso(query.from), to: iso(query.to) };
  let where = 'time >= $from AND time < $to';
  if (devices !== 'all') {
    if ('one' in devices) {
      where = `${DEVICE} = $device AND ${where}`;
      params['device'] = devices.one;
    } else {
      where = `${deviceRegex(devices.list)} AND ${where}`;
    }
  }
  return {
    query: `SELECT ${query.fn}(${escapeIdentifier(query.metric)}) FROM ${FROM} WHERE ${where} GROUP BY time(${query.everyMs}ms) fill(none)`,
    params,
  };
}

/** Every field the device has a value for (non-null columns of the answer), with that value. */
export function lastOfAllStatement(deviceId: string): Statement {
  return { query: `SELECT last(*) FROM ${FROM} WHERE ${DEVICE} = $device`, params: { device: deviceId } };
}

/**
 * One statement per field: a lone selector answers the time of the selected point. With
 * `since`, only points from then on are read (cheap: the newest shard), else all of them.
 */
export function lastOfEachStatement(deviceId: string, metrics: readonly string[], since?: number): Statement {
  const where = since === undefined ? `${DEVICE} = $device` : `${DEVICE} = $device AND time >= $since`;
  const query = metrics.map((metric) => `SELECT last(${escapeIdentifier(metric)}) FROM ${FROM} WHERE ${where}`).join('; ');
  return { query, params: since === undefined ? { device: deviceId } : { device: deviceId, since: iso(since) } };
}

export function rawStatement(query: { metric: string; from: number; to: number; deviceIds?: readonly string[] }, limit: number): Statement {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('unchecked limit');
  let where = 'time >= $from AND time < $to';
  if (query.deviceIds !== undefined) where = `${deviceRegex(query.deviceIds)} AND ${where}`;
  return {
    // `::field`/`::tag`: a tag may share a metric's name (another sample's tag), so say which is meant.
    query: `SELECT ${escapeIdentifier(query.metric)}::field, ${DEVICE}::tag FROM ${FROM} WHERE ${where} ORDER BY time ASC LIMIT ${limit}`,
    params: { from: iso(query.from), to: iso(query.to) },
  };
}

export function fieldKeysStatement(): Statement {
  return { query: `SHOW FIELD KEYS FROM ${FROM}`, params: {} };
}
