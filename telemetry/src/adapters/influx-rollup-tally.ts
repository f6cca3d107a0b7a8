/**
 * Minute rows tallied from the points the store writes, so the rollup need not have InfluxDB read
 * every point back (ADR 0008, amendment of session 29): live points' minutes for the periodic
 * pass, late points' for the recompute their write notes. InfluxDB
 * 1.x reads the points once per aggregate call, and the minute statement makes five (`count`,
 * `sum`, `min`, `max`, `last` of every field): rolling up cost influxd 2.8–3× what writing the
 * points did (`bench influx-rollup-cost.js`).
 *
 * A tally is trusted only where one `count(*)` pass over the settled range proves it holds
 * exactly InfluxDB's points: for every series and minute, the same fields with the same counts,
 * and nothing that could make a tally hold a point InfluxDB does not hold —
 * - a time not newer than the series' newest tallied time (a replay, a duplicate, an
 *   out-of-order sample) spoils its minute;
 * - a value that is not a number spoils its minute (InfluxDB's wildcard aggregates treat
 *   strings and booleans otherwise);
 * - a write that failed, or a line InfluxDB refused, spoils the device's minute (`spoil`);
 * - the pass or recompute takes its tallies out when it starts (later points start new ones) and
 *   waits for the writes in flight then before it counts.
 * So every tallied point is in InfluxDB, and equal counts mean the same points with the values
 * this store wrote last. A point left out of a tally (too far ahead of the clock, or past
 * MAX_MINUTES) only makes the counts differ. A minute whose tally is spoiled, missing or differs
 * is recomputed from raw points as before (`SELECT … INTO`), for its device only.
 */
import type { TelemetryPoint } from '../store/telemetry-store.js';
import type { InfluxQLResult } from './influxql.js';
import { escapeKey, MEASUREMENT, seriesKeyOf } from './influx-line.js';
import { MINUTE_MEASUREMENT, MINUTE_MS } from './influx-rollup-queries.js';

/** Most series-minutes tallied at once (a fleet's minutes between settle and now, with room); beyond, minutes are recomputed. */
const MAX_MINUTES = 500_000;
/** Points further ahead of the clock than this are not tallied (their minutes settle long after). */
const AHEAD_MS = 10 * MINUTE_MS;
/** A late minute's tally that no recompute took within this long of the periodic pass passing it is dropped. */
const STALE_MS = 60 * MINUTE_MS;

interface FieldTally {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}

interface MinuteTally {
  spoiled: boolean;
  readonly fields: Map<string, FieldTally>;
}

interface SeriesTally {
  readonly deviceId: string;
  /** The newest time tallied: a point not newer spoils its minute. */
  newest: number;
  readonly minutes: Map<number, MinuteTally>;
}

/** The tallies of a settled range, by series key (line protocol's measurement and tags). */
export type TalliedRange = ReadonlyMap<string, { readonly deviceId: string; readonly minutes: ReadonlyMap<number, MinuteTally> }>;

export interface TallyRows {
  /** `telemetry_1m` lines for the series-minutes whose tally holds InfluxDB's points. */
  readonly lines: string[];
  /** The other minutes with points, by device: recomputed from raw points. */
  readonly recompute: Map<string, Set<number>>;
}

function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

export class MinuteTallies {
  readonly #series = new Map<string, SeriesTally>();
  /** Series keys by device (a late recompute takes a device's minutes). */
  readonly #keysOf = new Map<string, Set<string>>();
  /** Minutes of a device spoiled by a failed write or a refused line, applied when their range is taken. */
  readonly #spoiled = new Map<string, Set<number>>();
  #minutes = 0;
  #lastKey: string | undefined;
  #lastSeries: SeriesTally | undefined;
  #lastMinute = Number.NaN;
  #lastTally: MinuteTally | undefined;

  /** Series-minutes held. */
  get size(): number {
    return this.#minutes;
  }

  /** A point the store is about to write (live: at or above the watermark claimed), under its series key. */
  add(key: string, point: TelemetryPoint, now: number): void {
    const { ts, metrics } = point;
    if (ts > now + AHEAD_MS) return;
    // Consecutive points are mostly of one series and minute: the last ones found are tried first.
    let series = key === this.#lastKey ? this.#lastSeries : undefined;
    if (series === undefined) {
      series = this.#series.get(key);
      if (series === undefined) {
        series = { deviceId: point.deviceId, newest: Number.NEGATIVE_INFINITY, minutes: new Map() };
        this.#series.set(key, series);
        let keys = this.#keysOf.get(point.deviceId);
        if (keys === undefined) this.#keysOf.set(point.deviceId, (keys = new Set()));
        keys.add(key);
      }
      this.#lastKey = key;
      this.#lastSeries = series;
      this.#lastTally = undefined;
    }
    const minute = floorMinute(ts);
    let tally = minute === this.#lastMinute ? this.#lastTally : undefined;
    if (tally === undefined) {
      tally = series.minutes.get(minute);
      if (tally === undefined) {
        if (this.#minutes >= MAX_MINUTES) return;
        tally = { spoiled: false, fields: new Map() };
        series.minutes.set(minute, tally);
        this.#minutes += 1;
      }
      this.#lastMinute = minute;
      this.#lastTally = tally;
    }
    if (ts <= series.newest) tally.spoiled = true;
    else series.newest = ts;
    if (tally.spoiled) return;
    for (const name in metrics) {
      const value = metrics[name];
      if (value === undefined) continue;
      if (typeof value !== 'number') {
        tally.spoiled = true;
        return;
      }
      const field = tally.fields.get(name);
      if (field === undefined) {
        tally.fields.set(name, { count: 1, sum: value, min: value, max: value, last: value });
        continue;
      }
      field.count += 1;
      field.sum += value;
      if (value < field.min) field.min = value;
      if (value > field.max) field.max = value;
      field.last = value;
    }
  }

  /** A line of the device at `ts` may not be in InfluxDB (its write failed, or the line was refused). */
  spoil(deviceId: string, ts: number): void {
    let minutes = this.#spoiled.get(deviceId);
    if (minutes === undefined) this.#spoiled.set(deviceId, (minutes = new Set()));
    minutes.add(floorMinute(ts));
  }

  /**
   * The periodic pass: takes the tallies of the minutes in [from, to) out. Late minutes below
   * `from` stay for the recompute their writes noted (takeMinutes), unless no recompute took them
   * for STALE_MS. Undefined when there are none.
   */
  take(from: number, to: number): TalliedRange | undefined {
    this.#forgetLast();
    const taken = new Map<string, { deviceId: string; minutes: Map<number, MinuteTally> }>();
    for (const [key, series] of this.#series) {
      const spoiled = this.#spoiled.get(series.deviceId);
      for (const [minute, tally] of series.minutes) {
        if (minute >= to || (minute < from && minute >= from - STALE_MS)) continue;
        this.#takeOut(series, minute);
        if (minute >= from) addTaken(taken, key, series.deviceId, minute, tally, spoiled);
      }
      if (series.minutes.size === 0) this.#drop(key, series);
    }
    for (const [deviceId, minutes] of this.#spoiled) {
      for (const minute of minutes) if ((minute >= from && minute < to) || minute < from - STALE_MS) minutes.delete(minute);
      if (minutes.size === 0) this.#spoiled.delete(deviceId);
    }
    return taken.size === 0 ? undefined : taken;
  }

  /** A late recompute: takes the tallies of these minutes (by device) out; undefined when there are none. */
  takeMinutes(minutes: ReadonlyMap<string, ReadonlySet<number>>): TalliedRange | undefined {
    this.#forgetLast();
    const taken = new Map<string, { deviceId: string; minutes: Map<number, MinuteTally> }>();
    for (const [deviceId, wanted] of minutes) {
      const spoiled = this.#spoiled.get(deviceId);
      for (const key of this.#keysOf.get(deviceId) ?? []) {
        const series = this.#series.get(key);
        if (series === undefined) continue;
        for (const minute of wanted) {
          const tally = series.minutes.get(minute);
          if (tally === undefined) continue;
          this.#takeOut(series, minute);
          addTaken(taken, key, deviceId, minute, tally, spoiled);
        }
        if (series.minutes.size === 0) this.#drop(key, series);
      }
      if (spoiled !== undefined) {
        for (const minute of wanted) spoiled.delete(minute);
        if (spoiled.size === 0) this.#spoiled.delete(deviceId);
      }
    }
    return taken.size === 0 ? undefined : taken;
  }

  #takeOut(series: SeriesTally, minute: number): void {
    series.minutes.delete(minute);
    this.#minutes -= 1;
  }

  #drop(key: string, series: SeriesTally): void {
    this.#series.delete(key);
    const keys = this.#keysOf.get(series.deviceId);
    keys?.delete(key);
    if (keys?.size === 0) this.#keysOf.delete(series.deviceId);
  }

  /** The cached last series and minute may be taken out: found again by the next add. */
  #forgetLast(): void {
    this.#lastKey = undefined;
    this.#lastSeries = undefined;
    this.#lastMinute = Number.NaN;
    this.#lastTally = undefined;
  }
}

function addTaken(
  taken: Map<string, { deviceId: string; minutes: Map<number, MinuteTally> }>,
  key: string,
  deviceId: string,
  minute: number,
  tally: MinuteTally,
  spoiled: ReadonlySet<number> | undefined,
): void {
  if (spoiled?.has(minute) === true) tally.spoiled = true;
  let entry = taken.get(key);
  if (entry === undefined) taken.set(key, (entry = { deviceId, minutes: new Map() }));
  entry.minutes.set(minute, tally);
}

/**
 * Matches a `SELECT count(*) … GROUP BY time(1m), *` answer (times in epoch ms) against the
 * tallies of its range: the minute rows to write, and the device-minutes to recompute — of
 * `only`'s device-minutes when given (the answer may hold others).
 */
export function tallyRows(counts: InfluxQLResult | undefined, tallied: TalliedRange, only?: ReadonlyMap<string, ReadonlySet<number>>): TallyRows {
  const lines: string[] = [];
  const recompute = new Map<string, Set<number>>();
  const expected = new Map<string, number>();
  for (const series of counts?.series ?? []) {
    const deviceId = series.tags?.['device'] ?? '';
    const tags: Record<string, string> = {};
    for (const [name, value] of Object.entries(series.tags ?? {})) if (name !== 'device') tags[name] = value;
    const key = seriesKeyOf(deviceId, tags);
    const tallies = tallied.get(key);
    const wanted = only?.get(deviceId);
    for (const row of series.values) {
      const minute = row[0];
      if (typeof minute !== 'number') continue;
      if (only !== undefined && wanted?.has(minute) !== true) continue;
      expected.clear();
      for (let column = 1; column < series.columns.length; column += 1) {
        const count = row[column];
        const name = series.columns[column] ?? '';
        if (typeof count === 'number' && name.startsWith('count_')) expected.set(name.slice('count_'.length), count);
      }
      const tally = tallies?.minutes.get(minute);
      if (tally !== undefined && holds(tally, expected)) {
        lines.push(minuteLine(key, minute, tally));
        continue;
      }
      let minutes = recompute.get(deviceId);
      if (minutes === undefined) recompute.set(deviceId, (minutes = new Set()));
      minutes.add(minute);
    }
  }
  return { lines, recompute };
}

function holds(tally: MinuteTally, counts: ReadonlyMap<string, number>): boolean {
  if (tally.spoiled || tally.fields.size !== counts.size) return false;
  for (const [name, count] of counts) if (tally.fields.get(name)?.count !== count) return false;
  return true;
}

/** The minute's row as the minute statement writes it: counts as integers, the rest as floats. */
function minuteLine(key: string, minute: number, tally: MinuteTally): string {
  const fields: string[] = [];
  for (const [name, field] of tally.fields) {
    const k = escapeKey(name);
    fields.push(`count_${k}=${String(field.count)}i,sum_${k}=${String(field.sum)},min_${k}=${String(field.min)},max_${k}=${String(field.max)},last_${k}=${String(field.last)}`);
  }
  return `${MINUTE_MEASUREMENT}${key.slice(MEASUREMENT.length)} ${fields.join(',')} ${String(minute)}`;
}
