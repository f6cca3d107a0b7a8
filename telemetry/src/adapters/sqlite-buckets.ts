/**
 * Time-bucket aggregation of the embedded store in SQL: `(ts / every) * every` buckets (floor,
 * aligned to the epoch), from the minute rollup for the whole minutes of the window when
 * `everyMs` is a multiple of a minute, from `samples` for the rest, merged per bucket here. A
 * longer `everyMs` that is not whole minutes (a chart sized to its pixels asks for 36m 30s) reads
 * the rollup too, except the minutes a bucket boundary cuts in two, which come from `samples`.
 */
import type Database from 'better-sqlite3';
import type { AggregateFn, MetricKind, MetricValue, SeriesPoint } from '../store/telemetry-store.js';
import { ROLLUP_MS } from './sqlite-schema.js';

export type Row = Record<string, unknown>;
export type SeriesScope = 'device' | 'devices' | 'all';

/** Filters `series` ids; the SQL is one of three fixed strings, values are bound. */
export const SERIES_SQL: Readonly<Record<SeriesScope, string>> = {
  device: 'SELECT id FROM series WHERE metric = @metric AND device = @device',
  devices: 'SELECT id FROM series WHERE metric = @metric AND device IN (SELECT value FROM json_each(@devices))',
  all: 'SELECT id FROM series WHERE metric = @metric',
};

/** Per fn, the partial aggregate of raw samples (`a` value, `n` count, `t` newest ts). */
const RAW_COLUMNS: Readonly<Record<AggregateFn, string>> = {
  mean: 'sum(value) AS a, count(*) AS n',
  min: 'min(value) AS a',
  max: 'max(value) AS a',
  count: 'count(*) AS n',
  // A lone max() makes SQLite take the bare column `value` from the row holding the max.
  last: 'max(ts) AS t, value AS a',
};

const ROLLUP_COLUMNS: Readonly<Record<AggregateFn, string>> = {
  mean: 'sum(total) AS a, sum(n) AS n',
  min: 'min(lo) AS a',
  max: 'max(hi) AS a',
  count: 'sum(n) AS n',
  last: 'max(last_ts) AS t, last_value AS a',
};

/** Floor-aligned bucket start in SQL, also for negative times. */
function bucketSql(column: string): string {
  return `(${column} - ((${column} % CAST(@every AS INTEGER)) + CAST(@every AS INTEGER)) % CAST(@every AS INTEGER))`;
}

interface Partial {
  a: number | string | null;
  n: number;
  t: number;
}


/**
 * From this `every` on, a bucket size that is not whole minutes still reads the rollup: each
 * bucket boundary cuts at most one minute, read raw (at 2 minutes, at most every other minute).
 */
const MIXED_MIN_EVERY_MS = 2 * ROLLUP_MS;

/** The minutes of `[wholeFrom, wholeTo)` (both on a minute) that a bucket boundary cuts in two. */
export function cutMinutes(wholeFrom: number, wholeTo: number, everyMs: number): number[] {
  const out: number[] = [];
  for (let boundary = Math.ceil(wholeFrom / everyMs) * everyMs; boundary < wholeTo; boundary += everyMs) {
    const minute = Math.floor(boundary / ROLLUP_MS) * ROLLUP_MS;
    if (minute !== boundary) out.push(minute);
  }
  return out;
}

export interface BucketQuery {
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  readonly everyMs: number;
  readonly fn: AggregateFn;
}

/** Buckets of `query` over the series `scope` selects; `prepare` caches statements. */
export function queryBuckets(
  prepare: (sql: string) => Database.Statement,
  kind: MetricKind,
  query: BucketQuery,
  scope: SeriesScope,
  scopeParams: Row,
): SeriesPoint[] {
  const { fn, everyMs, from, to } = query;
  const params = { ...scopeParams, metric: query.metric, every: everyMs };
  const partials = new Map<number, Partial>();
  const source = (table: 'samples' | 'rollup_1m', lo: number, hi: number, inOneBucket = false): void => {
    if (lo >= hi) return;
    const column = table === 'samples' ? 'ts' : 'bucket';
    const columns = table === 'samples' ? RAW_COLUMNS[fn] : ROLLUP_COLUMNS[fn];
    // Only the minutes that lie wholly inside one bucket (when `every` is not whole minutes).
    const whole = inOneBucket ? ` AND ${bucketSql(column)} = ${bucketSql(`(${column} + ${String(ROLLUP_MS - 1)})`)}` : '';
    const sql = `SELECT ${bucketSql(column)} AS b, ${columns} FROM ${table}
                 WHERE series IN (${SERIES_SQL[scope]}) AND ${column} >= @lo AND ${column} < @hi${whole} GROUP BY b`;
    for (const row of prepare(sql).all({ ...params, lo, hi }) as Row[]) merge(partials, fn, row);
  };
  const wholeFrom = Math.ceil(from / ROLLUP_MS) * ROLLUP_MS;
  const wholeTo = Math.floor(to / ROLLUP_MS) * ROLLUP_MS;
  if (everyMs % ROLLUP_MS === 0 && wholeFrom < wholeTo) {
    source('samples', from, wholeFrom);
    source('rollup_1m', wholeFrom, wholeTo);
    source('samples', wholeTo, to);
  } else if (everyMs >= MIXED_MIN_EVERY_MS && wholeFrom < wholeTo) {
    // Buckets of, say, 36m 30s: a boundary not on a minute cuts one minute in two. Those minutes
    // are read from `samples`, every other whole minute from the rollup.
    source('samples', from, wholeFrom);
    source('rollup_1m', wholeFrom, wholeTo, true);
    for (const minute of cutMinutes(wholeFrom, wholeTo, everyMs)) source('samples', minute, minute + ROLLUP_MS);
    source('samples', wholeTo, to);
  } else {
    source('samples', from, to);
  }
  return [...partials.entries()].sort(([a], [b]) => a - b).map(([ts, partial]) => ({ ts, value: finish(fn, kind, partial) }));
}

export function tagsetOf(tags: Readonly<Record<string, string>> | undefined): string {
  if (tags === undefined) return '';
  const entries = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '' : JSON.stringify(entries);
}

export function encode(value: MetricValue): number | string {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

export function decode(kind: MetricKind, value: unknown): MetricValue {
  if (kind === 'boolean') return value === 1;
  if (kind === 'string') return String(value);
  return Number(value);
}

function merge(partials: Map<number, Partial>, fn: AggregateFn, row: Row): void {
  const b = row['b'] as number;
  const a = (row['a'] ?? null) as number | string | null;
  const n = (row['n'] ?? 0) as number;
  const t = (row['t'] ?? 0) as number;
  const current = partials.get(b);
  if (current === undefined) {
    partials.set(b, { a, n, t });
    return;
  }
  switch (fn) {
    case 'mean':
      current.a = (current.a as number) + (a as number);
      current.n += n;
      break;
    case 'count':
      current.n += n;
      break;
    case 'min':
      if ((a as number) < (current.a as number)) current.a = a;
      break;
    case 'max':
      if ((a as number) > (current.a as number)) current.a = a;
      break;
    case 'last':
      if (t > current.t) {
        current.t = t;
        current.a = a;
      }
      break;
  }
}

function finish(fn: AggregateFn, kind: MetricKind, partial: Partial): MetricValue {
  switch (fn) {
    case 'mean':
      return (partial.a as number) / partial.n;
    case 'count':
      return partial.n;
    case 'last':
      return decode(kind, partial.a);
    default:
      return Number(partial.a);
  }
}
