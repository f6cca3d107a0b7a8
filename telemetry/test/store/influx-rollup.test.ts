/**
 * The InfluxDB 1.x store's 1-minute rollup on a real influxd: charts read from the rollup answer
 * what the raw points answer (a second store on the same database with the rollup off is the
 * reference), across the raw/rollup edges, for late points, replays and restarts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { queryInfluxQL } from '../../src/adapters/influxql.js';
import { registerIngestMetrics } from '../../src/ingest/ingest-metrics.js';
import { openInfluxTelemetryStore, type InfluxTelemetryStore, type InfluxTelemetryStoreOptions } from '../../src/adapters/influx-store.js';
import { openTelemetryStore } from '../../src/store/open-store.js';
import type { AggregateFn, SeriesPoint, TelemetryPoint } from '../../src/store/telemetry-store.js';
import { startInfluxd, waitFor, type InfluxdHandle } from './influxd-service.js';

const HOOK_MS = 60_000;
const TEST_MS = 120_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

let influx: InfluxdHandle | undefined;
let dir = '';
let databases = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-influx-rollup-'));
  influx = await startInfluxd();
}, HOOK_MS);

afterAll(async () => {
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
}, HOOK_MS);

function url(): string {
  if (influx === undefined) throw new Error('influxd did not start');
  return influx.url;
}

function freshDb(): string {
  databases += 1;
  return `outpost_rollup_${databases}`;
}

const opened: InfluxTelemetryStore[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

async function open(db: string, overrides: Partial<InfluxTelemetryStoreOptions> = {}): Promise<InfluxTelemetryStore> {
  const store = await openInfluxTelemetryStore({
    url: url(),
    api: 'v1',
    db,
    retentionDays: 30,
    deadLetterFile: path.join(dir, `dead-${db}.jsonl`),
    timeoutMs: 10_000,
    rollup: { intervalMs: 1_000, settleMs: 0, minRangeMs: 0 },
    ...overrides,
  });
  opened.push(store);
  return store;
}

const floorMinute = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE;

/** Waits until the rollup covers every whole minute before `ts`. */
async function coveredTo(store: InfluxTelemetryStore, ts: number): Promise<number> {
  return waitFor(
    () => {
      const covered = store.rollupStatus()?.coveredTo;
      return covered !== undefined && covered >= floorMinute(ts) ? covered : undefined;
    },
    { description: `the rollup to cover ${new Date(ts).toISOString()}`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

function expectSame(actual: SeriesPoint[], expected: SeriesPoint[], what: string): void {
  expect(actual.map((p) => p.ts), what).toEqual(expected.map((p) => p.ts));
  actual.forEach((point, index) => {
    const want = expected[index]?.value;
    if (typeof want === 'number') expect(point.value as number, `${what} at ${point.ts}`).toBeCloseTo(want, 6);
    else expect(point.value, `${what} at ${point.ts}`).toBe(want);
  });
}

interface Case {
  readonly from: number;
  readonly to: number;
  readonly everyMs: number;
}

/** Every fn of `metric` over every case, the rollup store against the raw one; returns how many buckets were compared. */
async function compare(rolled: InfluxTelemetryStore, raw: InfluxTelemetryStore, deviceId: string, metric: string, fns: readonly AggregateFn[], cases: readonly Case[]): Promise<number> {
  let buckets = 0;
  for (const c of cases) {
    for (const fn of fns) {
      const query = { deviceId, metric, fn, ...c };
      const expected = await raw.range(query);
      expectSame(await rolled.range(query), expected, `${deviceId} ${fn}(${metric}) every ${c.everyMs} from ${c.from} to ${c.to}`);
      buckets += expected.length;
    }
  }
  return buckets;
}

/** 1 Hz of `temp` for `hours`, leaving out seconds ≡ 3 (mod 7) and the minutes 50–52 after `start`; `on` every 10 s. */
function series(deviceId: string, start: number, end: number, tags?: (k: number) => Record<string, string>): TelemetryPoint[] {
  const points: TelemetryPoint[] = [];
  for (let ts = start, k = 0; ts < end; ts += 1_000, k += 1) {
    const minute = Math.floor((ts - start) / MINUTE);
    if (k % 7 === 3 || (minute >= 50 && minute <= 52)) continue;
    const metrics: Record<string, number | boolean> = { temp: 20 + Math.sin(k / 500) * 5 + (k % 13) * 0.1 };
    if (k % 10 === 0) metrics['on'] = k % 20 === 0;
    points.push({ deviceId, ts, metrics, ...(tags === undefined ? {} : { tags: tags(k) }) });
  }
  return points;
}

async function writeAll(store: InfluxTelemetryStore, points: readonly TelemetryPoint[]): Promise<void> {
  for (let start = 0; start < points.length; start += 5_000) {
    const result = await store.write(points.slice(start, start + 5_000));
    expect(result.deadLettered).toBe(0);
  }
}

const FNS: readonly AggregateFn[] = ['mean', 'min', 'max', 'count', 'last'];

/** The points of `temp` the minute rollup itself counts for a device (read straight from `telemetry_1m`). */
async function rolledCount(db: string, deviceId: string, from: number, to: number): Promise<number> {
  const [result] = await queryInfluxQL({ url: url(), db }, `SELECT sum("count_temp") FROM "telemetry_1m" WHERE "device" = '${deviceId}' AND time >= ${from}ms AND time < ${to}ms`);
  const value = result?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

/**
 * The minute rollup of [from, to) row for row as the minute statement (`SELECT … INTO`) computes
 * it from the raw points now (into a measurement of its own); resolves with the rows compared.
 */
async function expectRowsAsComputed(db: string, from: number, to: number): Promise<number> {
  const reference = `telemetry_ref_${String(from)}`;
  const rows = async (measurement: string): Promise<Map<string, Record<string, unknown>>> => {
    const [result] = await queryInfluxQL({ url: url(), db }, `SELECT * FROM "${measurement}" WHERE time >= ${from}ms AND time < ${to}ms GROUP BY *`);
    const byKey = new Map<string, Record<string, unknown>>();
    for (const series of result?.series ?? []) {
      for (const values of series.values) {
        const row: Record<string, unknown> = {};
        series.columns.forEach((column, i) => {
          if (column !== 'time' && values[i] !== null) row[column] = values[i];
        });
        byKey.set(`${JSON.stringify(series.tags)} ${String(values[0])}`, row);
      }
    }
    return byKey;
  };
  await queryInfluxQL(
    { url: url(), db },
    `SELECT count(*), sum(*), min(*), max(*), last(*) INTO "${reference}" FROM "telemetry" WHERE time >= ${from}ms AND time < ${to}ms GROUP BY time(1m), * fill(none)`,
  );
  const [actual, expected] = [await rows('telemetry_1m'), await rows(reference)];
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, want] of expected) {
    const got = actual.get(key) ?? {};
    expect(Object.keys(got).sort(), key).toEqual(Object.keys(want).sort());
    for (const [field, value] of Object.entries(want)) {
      if (typeof value === 'number') expect(got[field] as number, `${key} ${field}`).toBeCloseTo(value, 9);
      else expect(got[field], `${key} ${field}`).toBe(value);
    }
  }
  return expected.size;
}

/**
 * A rollup store on a clock of its own, starting `agoMs` before now (whole minutes), the raw-only
 * store beside it on the same database, the watermark it starts from, and a way to move its clock.
 */
async function onClock(agoMs: number): Promise<{ db: string; rolled: InfluxTelemetryStore; raw: InfluxTelemetryStore; covered: number; now(): number; advance(ms: number): void }> {
  const db = freshDb();
  let clock = floorMinute(Date.now()) - agoMs;
  const rolled = await open(db, { clock: { now: () => clock } });
  const raw = await open(db, { rollup: false });
  const covered = await coveredTo(rolled, clock);
  return {
    db,
    rolled,
    raw,
    covered,
    now: () => clock,
    advance: (ms) => {
      clock += ms;
    },
  };
}

describe('InfluxDB rollup', () => {
  it(
    'backfills existing points, then answers charts across the raw/rollup edges as the raw points do',
    async () => {
      const db = freshDb();
      const raw = await open(db, { rollup: false });
      const now = Date.now();
      const start = floorMinute(now) - 3 * HOUR + 13_000;
      await writeAll(raw, series('roll-a', start, now));
      // Two tag sets of one device: `last` cannot come from the rollup, the others can.
      await writeAll(raw, series('roll-b', start, now, (k) => ({ site: k % 2 === 0 ? 'x' : 'y' })));

      const rolled = await open(db);
      expect(raw.rollupStatus()).toBeUndefined();
      await coveredTo(rolled, now);
      expect(rolled.rollupStatus()).toMatchObject({ startedFrom: 'oldest-point', disabled: undefined });
      // 3 h in 1 h steps: the backfill took more than one statement.
      expect(rolled.rollupStatus()?.passes).toBeGreaterThanOrEqual(3);
      // Points of the current minute come after the watermark: the raw edge.
      const edge = Date.now();
      await writeAll(rolled, [{ deviceId: 'roll-a', ts: edge, metrics: { temp: 99, on: true } }]);

      const cases: Case[] = [
        { from: start - 30_000, to: edge + MINUTE, everyMs: MINUTE },
        { from: start - 30_000, to: edge + MINUTE, everyMs: 5 * MINUTE },
        { from: start + 7_000, to: edge + 1, everyMs: 7 * MINUTE },
        { from: start + HOUR + 29_000, to: now - 90_500, everyMs: HOUR },
        // Whole hours: the hour rollup between minute rollups and raw edges.
        { from: start - 30_000, to: edge + MINUTE, everyMs: HOUR },
        { from: start - HOUR, to: edge + HOUR, everyMs: 2 * HOUR },
        // Whole 10 minutes: the 10-minute rollup.
        { from: start + 3 * MINUTE, to: edge + 1, everyMs: 10 * MINUTE },
        { from: start - 30_000, to: now - 7 * MINUTE, everyMs: 30 * MINUTE },
      ];
      const buckets = await compare(rolled, raw, 'roll-a', 'temp', FNS, cases);
      expect(buckets).toBeGreaterThan(500);
      await compare(rolled, raw, 'roll-a', 'on', ['count', 'last'], cases);
      await compare(rolled, raw, 'roll-b', 'temp', FNS, cases);
      for (const c of cases) {
        for (const fn of ['mean', 'min', 'max', 'count'] as AggregateFn[]) {
          for (const deviceIds of [undefined, ['roll-a', 'roll-b'], ['roll-b']]) {
            const query = { metric: 'temp', fn, ...c, ...(deviceIds === undefined ? {} : { deviceIds }) };
            expectSame(await rolled.fleet(query), await raw.fleet(query), `fleet ${fn} of ${deviceIds?.join(',') ?? 'all'}`);
          }
        }
      }

      // The long ranges did read the rollup: a point written past the store (not through
      // `write`) into a rolled-up minute shows in the raw answer only. Short ranges and
      // sub-minute buckets read raw points and see it.
      const sneaked = start + HOUR + 30 * MINUTE + 500;
      const response = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry,device=roll-a temp=1000 ${sneaked}` });
      expect(response.status).toBe(204);
      const long = { deviceId: 'roll-a', metric: 'temp', fn: 'max' as const, from: start, to: edge + 1, everyMs: 5 * MINUTE };
      expect((await raw.range(long)).some((p) => p.value === 1000)).toBe(true);
      expect((await rolled.range(long)).some((p) => p.value === 1000)).toBe(false);
      const short = await open(db, { rollup: { intervalMs: 1_000, settleMs: 0, minRangeMs: 2 * HOUR } });
      await coveredTo(short, now);
      expect((await short.range({ ...long, from: sneaked - 30 * MINUTE, to: sneaked + 30 * MINUTE })).some((p) => p.value === 1000)).toBe(true);
      expect((await short.range(long)).some((p) => p.value === 1000)).toBe(false);
      expect((await rolled.range({ ...long, everyMs: 30_000 })).some((p) => p.value === 1000)).toBe(true);
      // Whole-hour buckets read the hour rollup: a row put into the minute rollup past the store
      // shows in 5-minute buckets, not in hourly ones.
      // (The last minute of a 5-minute bucket, so `last` of that bucket is the planted row's too.)
      const planted = Math.floor((start + 100 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE + 4 * MINUTE;
      const planting = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry_1m,device=roll-a max_temp=2000,last_temp=3000 ${planted}` });
      expect(planting.status).toBe(204);
      expect((await rolled.range(long)).some((p) => p.value === 2000)).toBe(true);
      expect((await rolled.range({ ...long, everyMs: HOUR })).some((p) => p.value === 2000)).toBe(false);
      expect((await rolled.range({ ...long, everyMs: 10 * MINUTE })).some((p) => p.value === 2000)).toBe(false);
      // `last` of a device with one tag set reads the rollup too.
      expect((await rolled.range({ ...long, fn: 'last' })).some((p) => p.value === 3000)).toBe(true);
      expect((await raw.range({ ...long, fn: 'last' })).some((p) => p.value === 3000)).toBe(false);
    },
    TEST_MS,
  );

  it(
    'late writes in flight together share recomputes, and each resolves with its own points in the rollup',
    async () => {
      const db = freshDb();
      const rolled = await open(db);
      const raw = await open(db, { rollup: false });
      const now = Date.now();
      const start = floorMinute(now) - 3 * HOUR;
      await coveredTo(rolled, now);
      // A backlog as ingest drains it: 3 devices, 8 writes each of 30 s of 1 Hz points, all in flight at once.
      const devices = ['share-a', 'share-b', 'share-c'];
      const writes = devices.flatMap((deviceId, d) =>
        Array.from({ length: 8 }, (_, w) =>
          Array.from({ length: 30 }, (_, k): TelemetryPoint => ({ deviceId, ts: start + d * HOUR + w * 30_000 + k * 1_000, metrics: { temp: 10 + d + w + k / 100 } })),
        ),
      );
      const before = rolled.rollupStatus();
      await Promise.all(writes.map(async (points) => expect((await rolled.write(points)).deadLettered).toBe(0)));
      const after = rolled.rollupStatus();
      expect((after?.lateWrites ?? 0) - (before?.lateWrites ?? 0)).toBe(writes.length);
      // Before sync the late minutes may not be rolled up yet: charts over them read raw points, so
      // they are right at once.
      const cases = (d: number): Case[] => {
        const from = start + d * HOUR - HOUR;
        return [
          { from, to: from + 3 * HOUR, everyMs: MINUTE },
          { from, to: from + 3 * HOUR, everyMs: HOUR },
        ];
      };
      for (const [d, deviceId] of devices.entries()) await compare(rolled, raw, deviceId, 'temp', FNS, cases(d));
      // sync: every late minute noted so far is in the rollup (what ingest waits for before it moves the spool's cursor).
      await rolled.sync();
      const recomputes = (rolled.rollupStatus()?.lateRecomputes ?? 0) - (before?.lateRecomputes ?? 0);
      expect(recomputes).toBeGreaterThan(0);
      expect(recomputes).toBeLessThan(writes.length);
      for (const [d, deviceId] of devices.entries()) {
        expect(await rolledCount(db, deviceId, start - HOUR, start + 4 * HOUR)).toBe(8 * 30);
        await compare(rolled, raw, deviceId, 'temp', FNS, cases(d));
      }
      // Minutes from tallies (writes in flight together: a recompute leaves a minute another write
      // under way writes into to that write's own recompute) are row for row what raw points give.
      expect(rolled.rollupStatus()?.talliedMinutes).toBeGreaterThan(0);
      expect(await expectRowsAsComputed(db, start - HOUR, start + 4 * HOUR)).toBe(3 * 4);
    },
    TEST_MS,
  );

  it(
    'rolls up late points and replays in the write that brings them, counting nothing twice',
    async () => {
      const db = freshDb();
      const rolled = await open(db);
      const raw = await open(db, { rollup: false });
      const now = Date.now();
      const start = floorMinute(now) - 2 * HOUR + 41_000;
      // An empty database: the watermark starts at the current minute, so all of these are late.
      await coveredTo(rolled, now);
      expect(rolled.rollupStatus()?.startedFrom).toBe('empty');
      const points = series('late-a', start, now - 5 * MINUTE);
      await writeAll(rolled, points);
      expect(rolled.rollupStatus()?.lateWrites).toBeGreaterThan(0);
      await rolled.sync();
      expect(await rolledCount(db, 'late-a', start - HOUR, now + HOUR)).toBe(points.filter((p) => 'temp' in p.metrics).length);
      const cases: Case[] = [
        { from: start, to: now + MINUTE, everyMs: MINUTE },
        { from: start - HOUR, to: now, everyMs: 10 * MINUTE },
        { from: start - HOUR, to: now + HOUR, everyMs: HOUR },
        { from: start - HOUR, to: now + HOUR, everyMs: 20 * MINUTE },
      ];
      await compare(rolled, raw, 'late-a', 'temp', FNS, cases);

      // Late points into a gap (minutes 50–52), into a full minute, and one value replaced.
      const late: TelemetryPoint[] = [
        { deviceId: 'late-a', ts: start + 51 * MINUTE + 1_234, metrics: { temp: 7 } },
        { deviceId: 'late-a', ts: start + 52 * MINUTE + 59_999, metrics: { temp: 8 } },
        { deviceId: 'late-a', ts: start + 70 * MINUTE + 500, metrics: { temp: -40 } },
        { deviceId: 'late-a', ts: points[100]?.ts ?? start, metrics: { temp: 55.5 } },
      ];
      await writeAll(rolled, late);
      // Right at once (minutes not rolled up yet read raw points), and right from the rollup after sync.
      await compare(rolled, raw, 'late-a', 'temp', FNS, cases);
      await rolled.sync();
      expect(await rolledCount(db, 'late-a', start - HOUR, now + HOUR)).toBe(points.filter((p) => 'temp' in p.metrics).length + 3);
      await compare(rolled, raw, 'late-a', 'temp', FNS, cases);
      const count = (store: InfluxTelemetryStore): Promise<SeriesPoint[]> => store.range({ deviceId: 'late-a', metric: 'temp', fn: 'count', from: start - HOUR, to: now, everyMs: 10 * MINUTE });
      const before = await count(rolled);

      // A replay (the spool after a crash) writes the same points again: the same answers.
      await writeAll(rolled, late);
      await writeAll(rolled, points.slice(0, 3_000));
      await rolled.sync();
      expect(await count(rolled)).toEqual(before);
      expect(await rolledCount(db, 'late-a', start - HOUR, now + HOUR)).toBe(points.filter((p) => 'temp' in p.metrics).length + 3);
      await compare(rolled, raw, 'late-a', 'temp', FNS, cases);
    },
    TEST_MS,
  );

  it(
    'never fails a write over a recompute InfluxDB refuses: the watermark moves back and charts read those minutes raw',
    async () => {
      const db = freshDb();
      const rolled = await open(db);
      const raw = await open(db, { rollup: false });
      const now = Date.now();
      await coveredTo(rolled, now);
      const late = floorMinute(now) - 30 * MINUTE;
      // Another writer gave a rollup field (of `hum`) another type in this shard: InfluxDB refuses the recompute.
      const planting = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry_1m,device=other count_hum="text" ${late}` });
      expect(planting.status).toBe(204);
      const points = series('rw-a', late + 5_000, floorMinute(now) - MINUTE).map((point) => ({ ...point, metrics: { ...point.metrics, hum: 40 } }));
      expect(await rolled.write(points)).toEqual({ written: points.length, deadLettered: 0 });
      // Nor the sync ingest waits for: the refused minutes are left to raw points and the periodic pass.
      await rolled.sync();
      expect(rolled.rollupStatus()?.coveredTo).toBeLessThanOrEqual(late);
      await compare(rolled, raw, 'rw-a', 'temp', FNS, [{ from: late - HOUR, to: now + MINUTE, everyMs: MINUTE }]);
      // The lower watermark was stored: a restarted store does not trust those minutes either.
      const again = await open(db);
      expect(again.rollupStatus()).toMatchObject({ startedFrom: 'watermark' });
      expect(again.rollupStatus()?.coveredTo).toBeLessThanOrEqual(late);
    },
    TEST_MS,
  );

  it(
    'resumes from its stored watermark after a restart instead of rolling everything up again',
    async () => {
      const db = freshDb();
      const raw = await open(db, { rollup: false });
      const now = Date.now();
      const start = floorMinute(now) - 4 * HOUR;
      await writeAll(raw, series('boot-a', start, now));
      const first = await open(db);
      const covered = await coveredTo(first, now);
      expect(first.rollupStatus()?.passes).toBeGreaterThanOrEqual(4);
      await first.close();

      const again = await open(db);
      expect(again.rollupStatus()).toMatchObject({ startedFrom: 'watermark' });
      expect(again.rollupStatus()?.coveredTo).toBeGreaterThanOrEqual(covered);
      await coveredTo(again, Date.now());
      // At most the minutes since the first store's last pass: one statement, not four hours again.
      expect(again.rollupStatus()?.passes).toBeLessThanOrEqual(1);
      await compare(again, raw, 'boot-a', 'temp', FNS, [
        { from: start, to: Date.now() + MINUTE, everyMs: 15 * MINUTE },
        { from: start, to: Date.now() + MINUTE, everyMs: HOUR },
      ]);
      // Nothing InfluxDB runs on its own: no continuous queries were created.
      const [cqs] = await queryInfluxQL({ url: url() }, 'SHOW CONTINUOUS QUERIES');
      expect((cqs?.series ?? []).flatMap((s) => s.values)).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'moves the watermark as the clock passes minutes and rolls up what was written above it',
    async () => {
      const { rolled, raw, covered, now, advance } = await onClock(30 * MINUTE);
      // Above the watermark: stored raw, not rolled up by the write.
      const points = series('tick-a', covered, covered + 20 * MINUTE);
      await writeAll(rolled, points);
      expect(rolled.rollupStatus()?.lateWrites).toBe(0);
      advance(25 * MINUTE);
      await coveredTo(rolled, now());
      const cases: Case[] = [
        { from: covered - MINUTE, to: covered + 30 * MINUTE, everyMs: 2 * MINUTE },
        { from: covered - HOUR, to: covered + HOUR, everyMs: HOUR },
      ];
      await compare(rolled, raw, 'tick-a', 'temp', FNS, cases);
      expect(rolled.rollupStatus()?.lateWrites).toBe(0);
    },
    TEST_MS,
  );

  it(
    'halves its step after a failed one, so it rolls up every minute before one InfluxDB refuses',
    async () => {
      const { db, rolled, raw, covered, advance } = await onClock(60 * MINUTE);
      const refused = covered + 20 * MINUTE;
      // Points above the watermark, and a rollup field given another type where one of them lands.
      await writeAll(raw, [
        { deviceId: 'half-a', ts: covered + 5 * MINUTE, metrics: { temp: 1 } },
        { deviceId: 'half-a', ts: refused + 5_000, metrics: { hum: 1 } },
      ]);
      const planting = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry_1m,device=other count_hum="text" ${refused}` });
      expect(planting.status).toBe(204);
      advance(40 * MINUTE);
      // One 40-minute step would fail for good; halved steps reach the refused minute and stop there.
      expect(await coveredTo(rolled, refused)).toBe(refused);
      expect(rolled.rollupStatus()?.passes).toBeGreaterThanOrEqual(3);
    },
    TEST_MS,
  );

  it(
    'writes the live minutes it tallied without reading their points back, and recomputes those it cannot vouch for',
    async () => {
      const { db, rolled, raw, covered, now, advance } = await onClock(60 * MINUTE);
      const minuteAt = (m: number, s: number): number => covered + m * MINUTE + s * 1_000;
      const ticks = (deviceId: string, from: number, to: number, metrics: (k: number) => TelemetryPoint['metrics'], tags?: (k: number) => Record<string, string>): TelemetryPoint[] =>
        Array.from({ length: to - from }, (_, i): TelemetryPoint => ({ deviceId, ts: minuteAt(0, from + i), metrics: metrics(from + i), ...(tags === undefined ? {} : { tags: tags(from + i) }) }));
      // Ten minutes of 1 Hz, written in order over two writes: every minute tallied.
      const plain = (k: number): Record<string, number> => ({ temp: 20 + Math.sin(k / 50) * 3 + (k % 7) * 0.01, hum: 50 + (k % 11) });
      await writeAll(rolled, ticks('tally-a', 0, 300, plain));
      await writeAll(rolled, ticks('tally-a', 300, 600, plain));
      // Two tag sets of one device: two series, each tallied apart.
      await writeAll(rolled, ticks('tally-b', 0, 600, plain, (k) => ({ site: k % 2 === 0 ? 'x' : 'y' })));
      // A boolean in minute 2: not tallied (InfluxDB's wildcard aggregates treat it otherwise), recomputed.
      await writeAll(rolled, ticks('tally-c', 0, 600, (k) => ({ ...plain(k), ...(k >= 120 && k < 180 && k % 10 === 0 ? { on: k % 20 === 0 } : {}) })));
      // Minute 3 written again with other values (a replay): the later values count, recomputed.
      await writeAll(rolled, ticks('tally-d', 0, 600, plain));
      await writeAll(rolled, ticks('tally-d', 180, 240, (k) => ({ temp: 100 + k, hum: 1 })));
      // A point of minute 4 that did not come through this store (as one written before a restart): the counts differ, recomputed.
      const sneaked = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry,device=tally-e temp=1000 ${minuteAt(4, 30) + 500}` });
      expect(sneaked.status).toBe(204);
      await writeAll(rolled, ticks('tally-e', 0, 600, plain));

      advance(20 * MINUTE);
      await coveredTo(rolled, minuteAt(12, 0));
      const status = rolled.rollupStatus();
      // a: 10 minutes, b: 2 series × 10, c, d, e: 9 each.
      expect(status?.talliedMinutes).toBe(10 + 20 + 3 * 9);
      expect(status?.recountedMinutes).toBe(3);

      // Row for row what the minute statement computes from the raw points.
      expect(await expectRowsAsComputed(db, covered, minuteAt(12, 0))).toBe(6 * 10);
      // And charts over them answer as the raw points do.
      const cases: Case[] = [
        { from: covered - MINUTE, to: minuteAt(12, 0), everyMs: MINUTE },
        { from: covered, to: minuteAt(12, 0), everyMs: 10 * MINUTE },
      ];
      for (const deviceId of ['tally-a', 'tally-b', 'tally-c', 'tally-d', 'tally-e']) await compare(rolled, raw, deviceId, 'temp', FNS, cases);
      await compare(rolled, raw, 'tally-c', 'on', ['count', 'last'], cases);
      // What /metrics says about it.
      const registry = new Registry();
      registerIngestMetrics(registry, { store: () => rolled, pipeline: () => undefined, spool: () => undefined, now });
      const metrics = await registry.metrics();
      expect(metrics).toContain('outpost_telemetry_rollup_minutes_total{source="tally"} 57');
      expect(metrics).toContain('outpost_telemetry_rollup_minutes_total{source="recomputed"} 3');
      const lag = /^outpost_telemetry_rollup_lag_seconds (\S+)$/m.exec(metrics)?.[1];
      expect(Number(lag)).toBe((now() - (rolled.rollupStatus()?.coveredTo ?? 0)) / 1000);
      expect((await rolled.range({ deviceId: 'tally-e', metric: 'temp', fn: 'max', ...cases[0] } as Parameters<InfluxTelemetryStore['range']>[0])).some((p) => p.value === 1000)).toBe(true);
    },
    TEST_MS,
  );

  it(
    'rolls up late minutes from the tallies of their writes where the counts agree, and recomputes the others',
    async () => {
      const db = freshDb();
      const rolled = await open(db);
      const start = floorMinute(Date.now()) - 5 * HOUR;
      await coveredTo(rolled, Date.now());
      const at = (s: number): number => start + s * 1_000;
      const backlog = (deviceId: string, from: number, to: number, value: (k: number) => number): TelemetryPoint[] =>
        Array.from({ length: to - from }, (_, i): TelemetryPoint => ({ deviceId, ts: at(from + i), metrics: { temp: value(from + i), hum: (from + i) % 9 } }));
      const before = rolled.rollupStatus();
      // A backlog drained in order, four writes a device; one device's minute 2 sent again with other values.
      for (let w = 0; w < 4; w++) {
        await writeAll(rolled, backlog('late-a', w * 150, (w + 1) * 150, (k) => 10 + k / 100));
        await writeAll(rolled, backlog('late-b', w * 150, (w + 1) * 150, (k) => 20 + k / 100));
      }
      await writeAll(rolled, backlog('late-b', 120, 180, (k) => 200 + k));
      // A point of late-c's minute 5 that did not come through this store.
      const sneaked = await fetch(`${url()}/write?db=${db}&precision=ms`, { method: 'POST', body: `telemetry,device=late-c temp=1000 ${at(330) + 500}` });
      expect(sneaked.status).toBe(204);
      await writeAll(rolled, backlog('late-c', 0, 600, (k) => 30 + k / 100));
      await rolled.sync();
      const after = rolled.rollupStatus();
      expect((after?.lateWrites ?? 0) - (before?.lateWrites ?? 0)).toBe(10);
      // From tallies: most minutes; recomputed: at least late-b's minute 2 and late-c's minute 5.
      expect((after?.talliedMinutes ?? 0) - (before?.talliedMinutes ?? 0)).toBeGreaterThan(10);
      expect((after?.recountedMinutes ?? 0) - (before?.recountedMinutes ?? 0)).toBeGreaterThanOrEqual(2);
      expect(await expectRowsAsComputed(db, start, start + 10 * MINUTE)).toBe(3 * 10);
      expect(await rolledCount(db, 'late-c', start, start + 10 * MINUTE)).toBe(601);
    },
    TEST_MS,
  );

  it(
    'takes its settings through openTelemetryStore, as the platform opens it',
    async () => {
      const db = freshDb();
      const through = async (rollup: { enabled?: boolean; intervalMs?: number; settleMs?: number }): Promise<InfluxTelemetryStore> => {
        const store = (await openTelemetryStore({
          influx: { url: url(), api: 'v1', db, rollup },
          embeddedFile: path.join(dir, 'unused.sqlite'),
          retentionDays: 30,
          deadLetterFile: path.join(dir, `dead-${db}.jsonl`),
        })) as InfluxTelemetryStore;
        opened.push(store);
        return store;
      };
      expect((await through({ enabled: false })).rollupStatus()).toBeUndefined();
      // Settle 0: the current minute's start is covered at once (the default waits 2 minutes).
      const now = Date.now();
      const store = await through({ intervalMs: 1_000, settleMs: 0 });
      expect(await coveredTo(store, now)).toBeGreaterThanOrEqual(floorMinute(now));
    },
    TEST_MS,
  );
});
