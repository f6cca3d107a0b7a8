/**
 * Minute rows tallied from the points the store writes, so the rollup need not have InfluxDB read
 * every point back (ADR 0008, amendment of session 29). InfluxDB 1.x reads the points once per
 * aggregate call, and the minute statement makes five (`count`, `sum`, `min`, `max`, `last` of
 * every field): rolling up cost influxd 2.5–3.2× what writing the points did (`bench
 * influx-rollup-cost.js`).
 *
 * A write tallies its points per series (the line's measurement and tags) and minute as it
 * encodes them (`TallyWrite`), and the tallies join the store's (`MinuteTallies.commit`) only once
 * InfluxDB took the write — minus the lines it refused; a write InfluxDB did not confirm spoils
 * its minutes (some of its lines may be in). So what a tally holds is always in
 * InfluxDB, and the rollup trusts a tally only where one `count(*)` pass shows InfluxDB holds no
 * more: for every field, the same count. The tallies it compares are copied before the count is
 * asked, so the count can only be the same or larger. Besides,
 * - a point whose time is not newer than the newest written into its series' minute (a replay, a
 *   duplicate, an out-of-order sample) spoils the minute: InfluxDB kept one point where the tally
 *   would add two;
 * - a value that is not a number spoils its minute (InfluxDB's wildcard aggregates treat strings
 *   and booleans otherwise);
 * - a point more than AHEAD_MS ahead of the clock, or past MAX_MINUTES, is not tallied: its
 *   minute's counts then differ.
 * Equal counts thus mean the same points, with the values this store wrote (it is the only writer
 * of `telemetry`: ADR 0008). A minute whose tally is spoiled, missing or short is recomputed from
 * raw points as before (`SELECT … INTO`), for its device. A tally stays until its minute is
 * below the watermark and EVICT_MS passed since a write last joined it: a backlog's minute that
 * spans several writes is whole by the time its last write's recompute counts it.
 */
import type { TelemetryPoint } from '../store/telemetry-store.js';
import type { InfluxQLResult } from './influxql.js';
import { escapeKey, MEASUREMENT, seriesKeyOf } from './influx-line.js';
import { MINUTE_MEASUREMENT, MINUTE_MS } from './influx-rollup-queries.js';

/** Most series-minutes held at once; beyond, new minutes are not tallied (they are recomputed). */
const MAX_MINUTES = 500_000;
/** Points further ahead of the clock than this are not tallied (their minutes settle long after). */
const AHEAD_MS = 10 * MINUTE_MS;
/** A minute's tally goes this long after the last write into it. */
const EVICT_MS = 3 * MINUTE_MS;
/** The writes under way when tallies were copied, and the first id of those begun after. */
export interface TallyWatch {
  readonly since: number;
  readonly writing: readonly TallyWrite[];
}

interface FieldTally {
  count: number;
  sum: number;
  min: number;
  max: number;
  /** The newest point's time and value. */
  lastTs: number;
  last: number;
}

interface MinuteTally {
  spoiled: boolean;
  readonly fields: Map<string, FieldTally>;
  /** When a write last joined it (store clock). */
  touched: number;
}

/** Per series key and minute, the newest time encoded. */
type Newest = Map<string, Map<number, number>>;

/** Minute tallies by series key, with the series' device. */
type Tallies = Map<string, { readonly deviceId: string; readonly minutes: Map<number, MinuteTally> }>;

/** Copies of the tallies a rollup step compares, by series key. */
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

function minuteOf(tallies: Tallies, key: string, deviceId: string, minute: number, at: number): MinuteTally {
  let series = tallies.get(key);
  if (series === undefined) tallies.set(key, (series = { deviceId, minutes: new Map() }));
  let tally = series.minutes.get(minute);
  if (tally === undefined) series.minutes.set(minute, (tally = { spoiled: false, fields: new Map(), touched: at }));
  return tally;
}

/** The tallies of one write, as it encodes its points (see MinuteTallies.begin). */
export class TallyWrite {
  /** Its tallies (let go once it ended). */
  readonly tallies: Tallies = new Map();
  /** Committed or failed. */
  ended = false;
  /** The minutes it writes into, by device. */
  readonly minutes = new Map<string, Set<number>>();
  /** The minutes of lines InfluxDB refused, by device. */
  readonly #refused = new Map<string, Set<number>>();
  readonly #newest: Newest;
  readonly #now: number;
  #lastKey: string | undefined;
  #lastMinute = Number.NaN;
  #lastTally: MinuteTally | undefined;

  constructor(
    readonly id: number,
    newest: Newest,
    now: number,
  ) {
    this.#newest = newest;
    this.#now = now;
  }

  /** A point going out under its series key. */
  add(key: string, point: TelemetryPoint): void {
    const { ts, metrics } = point;
    if (ts > this.#now + AHEAD_MS) return;
    const minute = floorMinute(ts);
    // Consecutive points are mostly of one series and minute: the last tally found is tried first.
    let tally = key === this.#lastKey && minute === this.#lastMinute ? this.#lastTally : undefined;
    if (tally === undefined) {
      tally = minuteOf(this.tallies, key, point.deviceId, minute, this.#now);
      let minutes = this.minutes.get(point.deviceId);
      if (minutes === undefined) this.minutes.set(point.deviceId, (minutes = new Set()));
      minutes.add(minute);
      this.#lastKey = key;
      this.#lastMinute = minute;
      this.#lastTally = tally;
    }
    let newest = this.#newest.get(key);
    if (newest === undefined) this.#newest.set(key, (newest = new Map()));
    const latest = newest.get(minute);
    if (latest !== undefined && ts <= latest) tally.spoiled = true;
    else newest.set(minute, ts);
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
        tally.fields.set(name, { count: 1, sum: value, min: value, max: value, lastTs: ts, last: value });
        continue;
      }
      field.count += 1;
      field.sum += value;
      if (value < field.min) field.min = value;
      if (value > field.max) field.max = value;
      if (ts > field.lastTs) {
        field.lastTs = ts;
        field.last = value;
      }
    }
  }

  /** A line InfluxDB refused: its device's minute is not vouched for. */
  refused(deviceId: string, ts: number): void {
    let minutes = this.#refused.get(deviceId);
    if (minutes === undefined) this.#refused.set(deviceId, (minutes = new Set()));
    minutes.add(floorMinute(ts));
  }

  /** Whether a line of the device's minute was refused. */
  wasRefused(deviceId: string, minute: number): boolean {
    return this.#refused.get(deviceId)?.has(minute) === true;
  }
}

export class MinuteTallies {
  readonly #tallies: Tallies = new Map();
  /** Per series key and minute, the newest time a write encoded (a point not newer spoils the minute). */
  readonly #newest: Newest = new Map();
  /** Writes begun and not yet committed or failed. */
  readonly #writing = new Set<TallyWrite>();
  /** Writes begun, oldest first: those under way, and those an open watch may ask about (see #prune). */
  readonly #recent: TallyWrite[] = [];
  readonly #watches = new Set<TallyWatch>();
  #nextId = 0;
  #minutes = 0;

  /** Series-minutes held. */
  get size(): number {
    return this.#minutes;
  }

  /** A write about to encode its points; `now` is the store's clock. */
  begin(now: number): TallyWrite {
    const write = new TallyWrite(this.#nextId++, this.#newest, now);
    this.#writing.add(write);
    this.#recent.push(write);
    return write;
  }

  /** Which writes are under way as tallies are copied (see written); `release` it when done. */
  watch(): TallyWatch {
    const watch = { since: this.#nextId, writing: [...this.#writing] };
    this.#watches.add(watch);
    return watch;
  }

  release(watch: TallyWatch): void {
    this.#watches.delete(watch);
    this.#prune();
  }

  /** Forgets the ended writes no open watch can ask about (begun before every open watch). */
  #prune(): void {
    let since = Number.POSITIVE_INFINITY;
    for (const watch of this.#watches) since = Math.min(since, watch.since);
    while (this.#recent[0]?.ended === true && this.#recent[0].id < since) this.#recent.shift();
  }

  #end(write: TallyWrite): void {
    write.ended = true;
    write.tallies.clear();
    this.#writing.delete(write);
    this.#prune();
  }

  /**
   * Whether a write under way at `watch`, or begun since, writes into the device's minute: its
   * points may have been in InfluxDB's count and not in the copied tallies, and it notes the
   * minute for a recompute of its own when it lands (it is late for it).
   */
  written(deviceId: string, minute: number, watch: TallyWatch): boolean {
    const into = (write: TallyWrite): boolean => write.minutes.get(deviceId)?.has(minute) === true;
    if (watch.writing.some(into)) return true;
    for (let index = this.#recent.length - 1; index >= 0; index -= 1) {
      const write = this.#recent[index];
      if (write === undefined || write.id < watch.since) break;
      if (into(write)) return true;
    }
    return false;
  }

  /** InfluxDB took the write (its refused lines are marked): its tallies join the store's. */
  commit(write: TallyWrite, now: number): void {
    if (write.ended) return;
    for (const [key, series] of write.tallies) {
      for (const [minute, added] of series.minutes) {
        let tally = this.#tallies.get(key)?.minutes.get(minute);
        if (tally === undefined) {
          if (this.#minutes >= MAX_MINUTES) {
            this.#forgetNewest(key, minute);
            continue;
          }
          tally = minuteOf(this.#tallies, key, series.deviceId, minute, now);
          this.#minutes += 1;
        }
        tally.touched = now;
        if (added.spoiled || write.wasRefused(series.deviceId, minute)) tally.spoiled = true;
        if (tally.spoiled) {
          tally.fields.clear();
          continue;
        }
        for (const [name, field] of added.fields) {
          const into = tally.fields.get(name);
          if (into === undefined) {
            tally.fields.set(name, { ...field });
            continue;
          }
          into.count += field.count;
          into.sum += field.sum;
          if (field.min < into.min) into.min = field.min;
          if (field.max > into.max) into.max = field.max;
          if (field.lastTs > into.lastTs) {
            into.lastTs = field.lastTs;
            into.last = field.last;
          }
        }
      }
    }
    this.#end(write);
  }

  /**
   * InfluxDB did not confirm the write: some of its lines may be in, replacing values the tallies
   * hold. Its minutes are spoiled, for the writes that join them later too.
   */
  fail(write: TallyWrite, now: number): void {
    if (write.ended) return;
    for (const [key, series] of write.tallies) {
      for (const minute of series.minutes.keys()) {
        let tally = this.#tallies.get(key)?.minutes.get(minute);
        if (tally === undefined) {
          if (this.#minutes >= MAX_MINUTES) continue;
          tally = minuteOf(this.#tallies, key, series.deviceId, minute, now);
          this.#minutes += 1;
        }
        tally.touched = now;
        tally.spoiled = true;
        tally.fields.clear();
      }
    }
    this.#end(write);
  }

  /**
   * Copies of the tallies of the minutes in [from, to) (the periodic pass); undefined when there
   * are none. Drops the tallies of minutes before `from` (rolled up, or late) no write joined for
   * EVICT_MS.
   */
  copyRange(from: number, to: number, now: number): TalliedRange | undefined {
    this.#evict(now, from);
    return this.#copy((_, minute) => minute >= from && minute < to);
  }

  /** Copies of the tallies of these minutes, by device; undefined when there are none. */
  copyMinutes(minutes: ReadonlyMap<string, ReadonlySet<number>>): TalliedRange | undefined {
    return this.#copy((deviceId, minute) => minutes.get(deviceId)?.has(minute) === true);
  }

  #copy(wanted: (deviceId: string, minute: number) => boolean): TalliedRange | undefined {
    const copies: Tallies = new Map();
    for (const [key, series] of this.#tallies) {
      for (const [minute, tally] of series.minutes) {
        if (!wanted(series.deviceId, minute)) continue;
        const copy = minuteOf(copies, key, series.deviceId, minute, tally.touched);
        copy.spoiled = tally.spoiled;
        for (const [name, field] of tally.fields) copy.fields.set(name, { ...field });
      }
    }
    return copies.size === 0 ? undefined : copies;
  }

  #evict(now: number, before: number): void {
    for (const [key, series] of this.#tallies) {
      for (const [minute, tally] of series.minutes) {
        if (minute >= before || now - tally.touched < EVICT_MS) continue;
        series.minutes.delete(minute);
        this.#minutes -= 1;
        this.#forgetNewest(key, minute);
      }
      if (series.minutes.size === 0) this.#tallies.delete(key);
    }
  }

  #forgetNewest(key: string, minute: number): void {
    const newest = this.#newest.get(key);
    newest?.delete(minute);
    if (newest?.size === 0) this.#newest.delete(key);
  }
}

/**
 * Matches a `SELECT count(*) … GROUP BY time(1m), *` answer (times in epoch ms) against copies of
 * the tallies: the minute rows to write, and the device-minutes to recompute — of `only`'s
 * device-minutes when given (the answer may hold others).
 */
export function tallyRows(counts: InfluxQLResult | undefined, tallied: TalliedRange, only?: ReadonlyMap<string, ReadonlySet<number>>): TallyRows {
  const lines: string[] = [];
  const recompute = new Map<string, Set<number>>();
  const expected = new Map<string, number>();
  for (const series of counts?.series ?? []) {
    const deviceId = series.tags['device'] ?? '';
    const tags: Record<string, string> = {};
    for (const [name, value] of Object.entries(series.tags)) if (name !== 'device') tags[name] = value;
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
  for (const [name, count] of counts) {
    const field = tally.fields.get(name);
    // A sum past the float range is left to InfluxDB (line protocol has no infinity).
    if (field?.count !== count || !Number.isFinite(field.sum)) return false;
  }
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
