/**
 * The InfluxQL of the rollup (docs/adr, "InfluxDB rollup"): the `SELECT … INTO` statements that
 * recompute whole minutes from raw points and whole 10 minutes and hours from minutes, the watermark's line
 * and query, and the statements of a chart query read in segments (raw edges, minute and hour
 * rollups in between) whose partial aggregates influx-rollup-merge.ts combines per bucket.
 *
 * `telemetry_1m` holds, per raw series (same tags) and minute, the fields `count_<m>`,
 * `sum_<m>`, `min_<m>`, `max_<m>`, `last_<m>` of every metric `<m>` with points in that minute
 * (InfluxDB's wildcard aggregates name them so; sum exists only for numeric metrics).
 * `telemetry_10m` and `telemetry_1h` hold the same per 10 minutes and per hour, computed from the minutes, named by InfluxDB's
 * regex aggregates: `sum_count_<m>`, `sum_sum_<m>`, `min_min_<m>`, `max_max_<m>`,
 * `last_last_<m>`. Recomputing a minute or hour writes the same series and time again, so it
 * replaces the old row: counts never add up twice.
 */
import type { AggregateFn } from '../store/telemetry-store.js';
import { escapeIdentifier } from './influxql.js';
import { deviceRegex, type Params, type Statement } from './influx-queries.js';
import { DEVICE_TAG, MEASUREMENT } from './influx-line.js';

export const MINUTE_MEASUREMENT = 'telemetry_1m';
export const TEN_MINUTE_MEASUREMENT = 'telemetry_10m';
export const HOUR_MEASUREMENT = 'telemetry_1h';
/** One point per step: field `done_to` = the end of the whole minutes rolled up (epoch ms), at the time it was stored (the newest wins). */
export const WATERMARK_MEASUREMENT = 'telemetry_rollup';
export const MINUTE_MS = 60_000;
export const TEN_MINUTES_MS = 600_000;
export const HOUR_MS = 3_600_000;

const DEVICE = escapeIdentifier(DEVICE_TAG);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Where raw points live and where the rollup goes: `"db"."rp".m` when an RP is set, else the database's default RP. */
export interface RollupTarget {
  readonly db: string;
  readonly rp?: string;
}

function qualified(target: RollupTarget, measurement: string): string {
  if (target.rp === undefined || target.rp === '') return escapeIdentifier(measurement);
  return `${escapeIdentifier(target.db)}.${escapeIdentifier(target.rp)}.${escapeIdentifier(measurement)}`;
}

export type Tier = 'minute' | 'tenMinutes' | 'hour';
/** The tiers computed from the minutes, coarsest first. */
export const COARSE_TIERS = ['hour', 'tenMinutes'] as const;

export const TIER_MS: Readonly<Record<Tier, number>> = { minute: MINUTE_MS, tenMinutes: TEN_MINUTES_MS, hour: HOUR_MS };
const TIER_GROUP: Readonly<Record<Tier, string>> = { minute: '1m', tenMinutes: '10m', hour: '1h' };
const TIER_MEASUREMENT: Readonly<Record<Tier, string>> = { minute: MINUTE_MEASUREMENT, tenMinutes: TEN_MINUTE_MEASUREMENT, hour: HOUR_MEASUREMENT };

/**
 * Recomputes the minutes (from raw points), or the 10 minutes or hours (from minutes), of
 * `[from, to)`, aligned to the tier, of `devices` (all when absent). `index` names the
 * parameters apart in one request.
 */
export function rollupIntoStatement(tier: Tier, target: RollupTarget, from: number, to: number, devices?: readonly string[], index = 0): Statement {
  const size = TIER_MS[tier];
  if (from % size !== 0 || to % size !== 0) throw new Error('unaligned rollup range');
  const where = `time >= $f${index} AND time < $t${index}${devices === undefined ? '' : ` AND ${deviceRegex(devices)}`}`;
  const select =
    tier === 'minute'
      ? `SELECT count(*), sum(*), min(*), max(*), last(*) INTO ${qualified(target, MINUTE_MEASUREMENT)} FROM ${qualified(target, MEASUREMENT)}`
      : `SELECT sum(/^count_/), sum(/^sum_/), min(/^min_/), max(/^max_/), last(/^last_/) INTO ${qualified(target, TIER_MEASUREMENT[tier])} FROM ${qualified(target, MINUTE_MEASUREMENT)}`;
  return {
    query: `${select} WHERE ${where} GROUP BY time(${TIER_GROUP[tier]}), * fill(none)`,
    params: { [`f${index}`]: iso(from), [`t${index}`]: iso(to) },
  };
}

/**
 * The points per raw series, minute and field in `[from, to)` (minute-aligned) of `devices` (all
 * when absent): one read of them, against which the rollup checks its tallies (influx-rollup-tally.ts).
 */
export function countStatement(target: RollupTarget, from: number, to: number, devices?: readonly string[], index = 0): Statement {
  if (from % MINUTE_MS !== 0 || to % MINUTE_MS !== 0) throw new Error('unaligned rollup range');
  const where = `time >= $f${index} AND time < $t${index}${devices === undefined ? '' : ` AND ${deviceRegex(devices)}`}`;
  return {
    query: `SELECT count(*) FROM ${qualified(target, MEASUREMENT)} WHERE ${where} GROUP BY time(1m), * fill(none)`,
    params: { [`f${index}`]: iso(from), [`t${index}`]: iso(to) },
  };
}

/** Several statements as one request (`;`-separated, parameters named apart by index). */
export function joinStatements(statements: readonly Statement[]): Statement {
  const params: Params = {};
  for (const statement of statements) Object.assign(params, statement.params);
  return { query: statements.map((statement) => statement.query).join('; '), params };
}

export function watermarkLine(doneTo: number, at: number): string {
  if (!Number.isSafeInteger(doneTo) || !Number.isSafeInteger(at)) throw new Error('unchecked watermark');
  return `${WATERMARK_MEASUREMENT} done_to=${doneTo}i ${at}`;
}

export function watermarkStatement(): Statement {
  return { query: `SELECT last("done_to") FROM ${escapeIdentifier(WATERMARK_MEASUREMENT)}`, params: {} };
}

/** The oldest raw point (its time is where a first backfill starts). */
export function oldestRawStatement(): Statement {
  return { query: `SELECT * FROM ${escapeIdentifier(MEASUREMENT)} ORDER BY time ASC LIMIT 1`, params: {} };
}

export type SegmentSource = 'raw' | Tier;

export interface Segment {
  readonly source: SegmentSource;
  readonly from: number;
  readonly to: number;
}

type Role = 'count' | 'sum' | 'min' | 'max' | 'last';

/** The field holding `role` of `metric` in a rollup tier. */
const ROLE_PREFIX: Readonly<Record<Tier, Readonly<Record<Role, string>>>> = {
  minute: { count: 'count_', sum: 'sum_', min: 'min_', max: 'max_', last: 'last_' },
  tenMinutes: { count: 'sum_count_', sum: 'sum_sum_', min: 'min_min_', max: 'max_max_', last: 'last_last_' },
  hour: { count: 'sum_count_', sum: 'sum_sum_', min: 'min_min_', max: 'max_max_', last: 'last_last_' },
};

/**
 * The partial aggregate columns of one segment, in the order influx-rollup-merge.ts reads them:
 * mean → (sum, count), count → (count), min/max/last → (value).
 */
function columns(fn: AggregateFn, source: SegmentSource, metric: string): string {
  if (source === 'raw') {
    const m = escapeIdentifier(metric);
    return fn === 'mean' ? `sum(${m}), count(${m})` : `${fn}(${m})`;
  }
  const field = (role: Role): string => escapeIdentifier(`${ROLE_PREFIX[source][role]}${metric}`);
  switch (fn) {
    case 'mean':
      return `sum(${field('sum')}), sum(${field('count')})`;
    case 'count':
      return `sum(${field('count')})`;
    default:
      return `${fn}(${field(fn)})`;
  }
}

const SOURCE_MEASUREMENT: Readonly<Record<SegmentSource, string>> = { raw: MEASUREMENT, ...TIER_MEASUREMENT };

/** One statement per segment, in the segments' (time) order, over the devices given; `byTagSet`: a series per tag set. */
export function segmentStatements(
  query: { metric: string; everyMs: number; fn: AggregateFn },
  devices: { one: string } | { list: readonly string[] } | 'all',
  segments: readonly Segment[],
  byTagSet = false,
): Statement {
  if (!Number.isSafeInteger(query.everyMs) || query.everyMs < 1) throw new Error('unchecked everyMs');
  const params: Params = {};
  let scope = '';
  if (devices !== 'all') {
    if ('one' in devices) {
      scope = `${DEVICE} = $device AND `;
      params['device'] = devices.one;
    } else {
      scope = `${deviceRegex(devices.list)} AND `;
    }
  }
  const statements = segments.map((segment, index) => {
    params[`f${index}`] = iso(segment.from);
    params[`t${index}`] = iso(segment.to);
    const from = escapeIdentifier(SOURCE_MEASUREMENT[segment.source]);
    return (
      `SELECT ${columns(query.fn, segment.source, query.metric)} FROM ${from} ` +
      `WHERE ${scope}time >= $f${index} AND time < $t${index} GROUP BY time(${query.everyMs}ms)${byTagSet ? ', *' : ''} fill(none)`
    );
  });
  return { query: statements.join('; '), params };
}
