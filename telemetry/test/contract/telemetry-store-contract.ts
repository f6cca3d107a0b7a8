/**
 * The one contract every TelemetryStore adapter passes (STYLE: one shared suite per port).
 * Run by test/store/embedded-store.test.ts and test/store/influx-store.test.ts with a harness
 * that opens a store on a fresh, empty database.
 */
import { readFile } from 'node:fs/promises';
import { OutpostError } from '@outpost/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { isRetryableStoreError } from '../../src/store/store-errors.js';
import type { AggregateFn, MetricValue, TelemetryPoint, TelemetryStore } from '../../src/store/telemetry-store.js';

export interface OpenedStore {
  readonly store: TelemetryStore;
  readonly deadLetterFile: string;
  /** Opens the same database/file again (after `store` was closed). */
  reopen(): Promise<TelemetryStore>;
}

export interface StoreHarness {
  /** A store on a fresh, empty database or file. */
  fresh(): Promise<OpenedStore>;
  /**
   * Takes the store's backend away and brings it back. Absent where the backend cannot be away
   * while the store is open (the embedded store lives in the process).
   */
  readonly outage?: { stop(): Promise<void>; start(): Promise<void> };
}

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** An hour boundary three hours ago: inside any retention, aligned to every bucket width used here. */
const T0 = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;

interface Sample {
  readonly deviceId: string;
  readonly ts: number;
  readonly value: MetricValue;
}

function pointsOf(metric: string, samples: readonly Sample[], tags?: Record<string, string>): TelemetryPoint[] {
  return samples.map((s) => ({ deviceId: s.deviceId, ts: s.ts, metrics: { [metric]: s.value }, ...(tags ? { tags } : {}) }));
}

/** The reference semantics of the port for numeric samples: buckets aligned to the epoch, empty ones left out. */
function expectedBuckets(samples: readonly Sample[], from: number, to: number, every: number, fn: AggregateFn): { ts: number; value: number }[] {
  const groups = new Map<number, Sample[]>();
  for (const s of samples) {
    if (s.ts < from || s.ts >= to) continue;
    const b = Math.floor(s.ts / every) * every;
    groups.set(b, [...(groups.get(b) ?? []), s]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, group]) => {
      const values = group.map((s) => s.value as number);
      const newest = group.reduce((a, b) => (b.ts >= a.ts ? b : a));
      const value =
        fn === 'mean'
          ? values.reduce((a, b) => a + b, 0) / values.length
          : fn === 'min'
            ? Math.min(...values)
            : fn === 'max'
              ? Math.max(...values)
              : fn === 'count'
                ? values.length
                : (newest.value as number);
      return { ts, value };
    });
}

function expectClose(actual: { ts: number; value: MetricValue }[], expected: { ts: number; value: number }[]): void {
  expect(actual.map((p) => p.ts)).toEqual(expected.map((p) => p.ts));
  actual.forEach((point, i) => expect(point.value as number).toBeCloseTo(expected[i]?.value ?? Number.NaN, 9));
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<OutpostError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a rejection with ${code}`).toBeInstanceOf(OutpostError);
  expect((error as OutpostError).code).toBe(code);
  return error as OutpostError;
}

async function deadLettersIn(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** 5 minutes of 1 sample / 10 s: values are binary fractions, so sums are exact. */
function tenSecondSamples(deviceId: string, start = T0, count = 30, scale = 0.5): Sample[] {
  return Array.from({ length: count }, (_, k) => ({ deviceId, ts: start + k * 10 * SECOND, value: (k % 7) * scale - 1 }));
}

export function telemetryStoreContract(name: string, harness: StoreHarness): void {
  describe(`TelemetryStore contract: ${name}`, () => {
    const opened: TelemetryStore[] = [];
    const fresh = async (): Promise<OpenedStore> => {
      const result = await harness.fresh();
      opened.push(result.store);
      return result;
    };
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    });

    it('reads back what it wrote, for each fn, in buckets aligned to the epoch', async () => {
      const { store } = await fresh();
      const samples = tenSecondSamples('dev-a');
      expect(await store.write(pointsOf('temp', samples))).toEqual({ written: 30, deadLettered: 0 });
      for (const fn of ['mean', 'min', 'max', 'last', 'count'] as const) {
        for (const [from, to, every] of [
          [T0, T0 + 5 * MINUTE, 30 * SECOND],
          // A window starting and ending inside buckets, with minute buckets (the embedded rollup path).
          [T0 + 25 * SECOND, T0 + 4 * MINUTE + 5 * SECOND, MINUTE],
          [T0 - HOUR, T0 + HOUR, 2 * MINUTE],
          // Buckets that are not whole minutes: their boundaries cut minutes in two (T0 + 90 s, T0 + 150 s).
          [T0 + 25 * SECOND, T0 + 4 * MINUTE + 5 * SECOND, 90 * SECOND],
          [T0 + 25 * SECOND, T0 + 4 * MINUTE + 5 * SECOND, 150 * SECOND],
          [T0 - HOUR, T0 + HOUR, 150 * SECOND],
          [T0 - HOUR, T0 + HOUR, 7 * MINUTE + 30 * SECOND],
        ] as const) {
          const points = await store.range({ deviceId: 'dev-a', metric: 'temp', from, to, everyMs: every, fn });
          expectClose(points, expectedBuckets(samples, from, to, every, fn));
        }
      }
    });

    it('labels a bucket with its start even when the window starts inside it', async () => {
      const { store } = await fresh();
      await store.write(pointsOf('temp', [{ deviceId: 'dev-a', ts: T0 + 7 * SECOND, value: 3 }]));
      const points = await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0 + 5 * SECOND, to: T0 + MINUTE, everyMs: 10 * SECOND, fn: 'mean' });
      expect(points).toEqual([{ ts: T0, value: 3 }]);
    });

    it('leaves empty buckets out', async () => {
      const { store } = await fresh();
      await store.write(
        pointsOf('temp', [
          { deviceId: 'dev-a', ts: T0 + 1 * SECOND, value: 1 },
          { deviceId: 'dev-a', ts: T0 + 41 * SECOND, value: 2 },
        ]),
      );
      const points = await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + MINUTE, everyMs: 10 * SECOND, fn: 'count' });
      expect(points).toEqual([
        { ts: T0, value: 1 },
        { ts: T0 + 40 * SECOND, value: 1 },
      ]);
    });

    it('includes from and excludes to', async () => {
      const { store } = await fresh();
      await store.write(pointsOf('temp', [0, 10, 20].map((s) => ({ deviceId: 'dev-a', ts: T0 + s * SECOND, value: s }))));
      const count = (from: number, to: number) => store.range({ deviceId: 'dev-a', metric: 'temp', from, to, everyMs: HOUR, fn: 'count' });
      expect(await count(T0, T0 + 20 * SECOND)).toEqual([{ ts: T0, value: 2 }]);
      expect(await count(T0 + 1, T0 + 20 * SECOND + 1)).toEqual([{ ts: T0, value: 2 }]);
      expect(await count(T0 + 20 * SECOND, T0 + 21 * SECOND)).toEqual([{ ts: T0, value: 1 }]);
      expect(await count(T0 + 21 * SECOND, T0 + HOUR)).toEqual([]);
    });

    it('keeps booleans and strings as they are, for last and count only', async () => {
      const { store } = await fresh();
      const text = 'he said "hi", \\o/ = ok\nnext line';
      await store.write([
        { deviceId: 'dev-a', ts: T0, metrics: { door: true, state: 'idle' } },
        { deviceId: 'dev-a', ts: T0 + SECOND, metrics: { door: false, state: text } },
      ]);
      const query = { deviceId: 'dev-a', from: T0, to: T0 + MINUTE, everyMs: MINUTE } as const;
      expect(await store.range({ ...query, metric: 'door', fn: 'last' })).toEqual([{ ts: T0, value: false }]);
      expect(await store.range({ ...query, metric: 'state', fn: 'last' })).toEqual([{ ts: T0, value: text }]);
      expect(await store.range({ ...query, metric: 'state', fn: 'count' })).toEqual([{ ts: T0, value: 2 }]);
      for (const fn of ['mean', 'min', 'max'] as const) {
        await expectCode(store.range({ ...query, metric: 'state', fn }), 'TELEMETRY_QUERY_INVALID');
        await expectCode(store.range({ ...query, metric: 'door', fn }), 'TELEMETRY_QUERY_INVALID');
      }
      expect(await store.latest('dev-a')).toEqual({ door: { ts: T0 + SECOND, value: false }, state: { ts: T0 + SECOND, value: text } });
    });

    it('keeps points with different tag sets apart, and aggregates over them', async () => {
      const { store } = await fresh();
      await store.write([
        { deviceId: 'dev-a', ts: T0, metrics: { temp: 1 }, tags: { sensor: 'in' } },
        { deviceId: 'dev-a', ts: T0, metrics: { temp: 3 }, tags: { sensor: 'out, far = "x"' } },
        { deviceId: 'dev-a', ts: T0, metrics: { temp: 5 } },
      ]);
      const query = { deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + MINUTE, everyMs: MINUTE } as const;
      expect(await store.range({ ...query, fn: 'count' })).toEqual([{ ts: T0, value: 3 }]);
      expect(await store.range({ ...query, fn: 'mean' })).toEqual([{ ts: T0, value: 3 }]);
      expect(await store.raw({ metric: 'temp', from: T0, to: T0 + MINUTE })).toHaveLength(3);
    });

    it('writes a replayed batch over itself: the count does not change', async () => {
      const { store } = await fresh();
      const points = pointsOf('temp', tenSecondSamples('dev-a'), { sensor: 'in' });
      expect(await store.write(points)).toEqual({ written: 30, deadLettered: 0 });
      expect(await store.write(points)).toEqual({ written: 30, deadLettered: 0 });
      const count = await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + HOUR, everyMs: HOUR, fn: 'count' });
      expect(count).toEqual([{ ts: T0, value: 30 }]);
      // A replay with a corrected value replaces the point.
      await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 100 }, tags: { sensor: 'in' } }]);
      expect(await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + SECOND, everyMs: MINUTE, fn: 'max' })).toEqual([{ ts: T0, value: 100 }]);
      expect(await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + HOUR, everyMs: HOUR, fn: 'count' })).toEqual([{ ts: T0, value: 30 }]);
    });

    it('stores whole numbers as floats, so 1 then 1.5 is no type conflict', async () => {
      const { store } = await fresh();
      expect(await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 1 } }])).toEqual({ written: 1, deadLettered: 0 });
      expect(await store.write([{ deviceId: 'dev-a', ts: T0 + SECOND, metrics: { temp: 1.5 } }])).toEqual({ written: 1, deadLettered: 0 });
      expect(await store.metrics('dev-a')).toEqual([{ name: 'temp', type: 'number' }]);
    });

    it('dead-letters a point whose type conflicts with the metric, while the rest of the batch lands', async () => {
      const { store, deadLetterFile } = await fresh();
      await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 20.5 } }]);
      const result = await store.write([
        { deviceId: 'dev-a', ts: T0 + SECOND, metrics: { temp: 21 } },
        { deviceId: 'dev-b', ts: T0 + 2 * SECOND, metrics: { temp: 'hot' } },
        { deviceId: 'dev-b', ts: T0 + 3 * SECOND, metrics: { temp: 22 } },
      ]);
      expect(result).toEqual({ written: 2, deadLettered: 1 });
      expect(store.stats().deadLetters).toBe(1);
      const letters = await deadLettersIn(deadLetterFile);
      expect(letters).toHaveLength(1);
      const [letter = {}] = letters;
      expect(letter).toMatchObject({ deviceId: 'dev-b', ts: T0 + 2 * SECOND });
      expect(String(letter['reason'])).toMatch(/type|conflict/i);
      expect(typeof letter['at']).toBe('number');
      expect(letter['line'] ?? letter['point']).toBeDefined();
      const count = await store.fleet({ metric: 'temp', from: T0, to: T0 + HOUR, everyMs: HOUR, fn: 'count' });
      expect(count).toEqual([{ ts: T0, value: 3 }]);
    });

    describe('names that could break a query', () => {
      const badMetrics = ['a"; DROP DATABASE x', 'temp\\', 'te\nmp', "x' OR '1'='1", 'time', 'device', '', '1abc', 'a b', 'a,b=c'];
      const badDevices = ['DEV-A', 'dev"; DROP', "dev-a' OR '1'='1", 'dev-a\n', 'dev\\a', 'ab', '/dev-a/', 'dev-a|.*'];

      it('refuses them in writes (dead letters) and keeps the good points', async () => {
        const { store, deadLetterFile } = await fresh();
        const points: TelemetryPoint[] = [
          ...badMetrics.map((metric, k) => ({ deviceId: 'dev-a', ts: T0 + k, metrics: { [metric]: 1 } })),
          ...badDevices.map((deviceId, k) => ({ deviceId, ts: T0 + k, metrics: { temp: 1 } })),
          { deviceId: 'dev-a', ts: T0, metrics: { temp: 1 }, tags: { time: 'x' } },
          { deviceId: 'dev-a', ts: T0, metrics: { temp: 1 }, tags: { temp: 'x' } },
          { deviceId: 'dev-a', ts: T0, metrics: { temp: Number.NaN } },
          { deviceId: 'dev-a', ts: T0 + 0.5, metrics: { temp: 1 } },
          { deviceId: 'dev-a', ts: T0 + 99, metrics: { temp: 7 } },
        ];
        const bad = points.length - 1;
        expect(await store.write(points)).toEqual({ written: 1, deadLettered: bad });
        expect(await deadLettersIn(deadLetterFile)).toHaveLength(bad);
        expect(await store.latest('dev-a')).toEqual({ temp: { ts: T0 + 99, value: 7 } });
      });

      it('refuses them in queries with TELEMETRY_QUERY_INVALID, and the store keeps answering', async () => {
        const { store } = await fresh();
        await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 1 } }]);
        const window = { from: T0, to: T0 + HOUR, everyMs: MINUTE, fn: 'mean' } as const;
        for (const metric of badMetrics) {
          await expectCode(store.range({ deviceId: 'dev-a', metric, ...window }), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.fleet({ metric, ...window }), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.raw({ metric, from: T0, to: T0 + HOUR }), 'TELEMETRY_QUERY_INVALID');
        }
        for (const deviceId of badDevices) {
          await expectCode(store.range({ deviceId, metric: 'temp', ...window }), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.fleet({ deviceIds: ['dev-a', deviceId], metric: 'temp', ...window }), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.raw({ deviceIds: [deviceId], metric: 'temp', from: T0, to: T0 + HOUR }), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.latest(deviceId), 'TELEMETRY_QUERY_INVALID');
          await expectCode(store.metrics(deviceId), 'TELEMETRY_QUERY_INVALID');
        }
        expect(await store.range({ deviceId: 'dev-a', metric: 'temp', ...window })).toEqual([{ ts: T0, value: 1 }]);
      });

      it('quotes allowed names with dots, dashes and underscores', async () => {
        const { store } = await fresh();
        const names = ['cpu.load-1m', '_x', 'SELECT', 'from', 'Temp_2'];
        await store.write([{ deviceId: 'dev-0-a', ts: T0, metrics: Object.fromEntries(names.map((n, k) => [n, k])) }]);
        for (const [k, metric] of names.entries()) {
          expect(await store.range({ deviceId: 'dev-0-a', metric, from: T0, to: T0 + MINUTE, everyMs: MINUTE, fn: 'max' })).toEqual([{ ts: T0, value: k }]);
        }
        expect((await store.metrics('dev-0-a')).map((m) => m.name)).toEqual([...names].sort());
      });

      it('refuses malformed windows', async () => {
        const { store } = await fresh();
        const base = { deviceId: 'dev-a', metric: 'temp', fn: 'mean' } as const;
        await expectCode(store.range({ ...base, from: T0, to: T0, everyMs: MINUTE }), 'TELEMETRY_QUERY_INVALID');
        await expectCode(store.range({ ...base, from: T0, to: T0 + HOUR, everyMs: 0 }), 'TELEMETRY_QUERY_INVALID');
        await expectCode(store.range({ ...base, from: T0, to: T0 + 365 * 24 * HOUR, everyMs: 1 }), 'TELEMETRY_QUERY_INVALID');
        await expectCode(store.range({ ...base, from: T0, to: T0 + HOUR, everyMs: MINUTE, fn: 'median' as AggregateFn }), 'TELEMETRY_QUERY_INVALID');
        await expectCode(store.raw({ metric: 'temp', from: T0, to: T0 + HOUR, limit: 0 }), 'TELEMETRY_QUERY_INVALID');
      });
    });

    it('answers nothing for a metric or device it never saw', async () => {
      const { store } = await fresh();
      await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 1 } }]);
      expect(await store.range({ deviceId: 'dev-a', metric: 'nope', from: T0, to: T0 + HOUR, everyMs: MINUTE, fn: 'mean' })).toEqual([]);
      expect(await store.range({ deviceId: 'dev-zzz', metric: 'temp', from: T0, to: T0 + HOUR, everyMs: MINUTE, fn: 'mean' })).toEqual([]);
      expect(await store.latest('dev-zzz')).toEqual({});
      expect(await store.metrics('dev-zzz')).toEqual([]);
    });

    it('answers the newest value of each metric of a device, with its own time', async () => {
      const { store } = await fresh();
      await store.write([
        { deviceId: 'dev-a', ts: T0 + 5 * SECOND, metrics: { temp: 21.5, door: true } },
        { deviceId: 'dev-a', ts: T0 + 9 * SECOND, metrics: { temp: 22 } },
        { deviceId: 'dev-a', ts: T0 + 2 * SECOND, metrics: { temp: 19, mode: 'auto' } },
        { deviceId: 'dev-b', ts: T0 + 30 * SECOND, metrics: { temp: 99, rpm: 1200 } },
      ]);
      // Written later but older: does not replace the newest.
      await store.write([{ deviceId: 'dev-a', ts: T0 + SECOND, metrics: { temp: -1 } }]);
      // One metric sent just now, the others hours ago.
      const recent = Date.now() - SECOND;
      await store.write([{ deviceId: 'dev-a', ts: recent, metrics: { uptime: 12 } }]);
      expect(await store.latest('dev-a')).toEqual({
        uptime: { ts: recent, value: 12 },
        temp: { ts: T0 + 9 * SECOND, value: 22 },
        door: { ts: T0 + 5 * SECOND, value: true },
        mode: { ts: T0 + 2 * SECOND, value: 'auto' },
      });
      expect(await store.metrics('dev-a')).toEqual([
        { name: 'door', type: 'boolean' },
        { name: 'mode', type: 'string' },
        { name: 'temp', type: 'number' },
        { name: 'uptime', type: 'number' },
      ]);
      expect(await store.metrics('dev-b')).toEqual([
        { name: 'rpm', type: 'number' },
        { name: 'temp', type: 'number' },
      ]);
    });

    it('aggregates a fleet over a device list and over every device', async () => {
      const { store } = await fresh();
      const a = tenSecondSamples('dev-a', T0, 30, 0.5);
      const b = tenSecondSamples('dev-b', T0, 30, 2);
      const c = tenSecondSamples('dev-c', T0 + 5 * SECOND, 30, -1);
      await store.write(pointsOf('temp', [...a, ...b, ...c]));
      const window = { metric: 'temp', from: T0, to: T0 + 10 * MINUTE, everyMs: MINUTE } as const;
      for (const fn of ['mean', 'min', 'max', 'count'] as const) {
        expectClose(await store.fleet({ ...window, fn, deviceIds: ['dev-a', 'dev-b'] }), expectedBuckets([...a, ...b], window.from, window.to, MINUTE, fn));
        expectClose(await store.fleet({ ...window, fn }), expectedBuckets([...a, ...b, ...c], window.from, window.to, MINUTE, fn));
      }
      // last: the newest sample of the bucket across the devices (dev-c is 5 s later than the others).
      expectClose(await store.fleet({ ...window, fn: 'last' }), expectedBuckets(c, window.from, window.to, MINUTE, 'last'));
      expect(await store.fleet({ ...window, fn: 'mean', deviceIds: [] })).toEqual([]);
      expect(await store.fleet({ ...window, fn: 'mean', deviceIds: ['dev-nobody'] })).toEqual([]);
    });

    it('answers raw samples in time order (then device), up to the limit', async () => {
      const { store } = await fresh();
      await store.write([
        { deviceId: 'dev-b', ts: T0 + 2, metrics: { temp: 2 } },
        { deviceId: 'dev-a', ts: T0 + 2, metrics: { temp: 1 } },
        { deviceId: 'dev-c', ts: T0 + 1, metrics: { temp: 0 } },
        { deviceId: 'dev-a', ts: T0 + 3, metrics: { temp: 3, other: 5 } },
        { deviceId: 'dev-a', ts: T0 + 4, metrics: { other: 5 } },
        // A tag named like the metric (allowed: it is another sample's tag) is not the metric.
        { deviceId: 'dev-d', ts: T0 + 5, metrics: { other: 6 }, tags: { temp: 'x' } },
      ]);
      expect(await store.raw({ metric: 'temp', from: T0, to: T0 + HOUR })).toEqual([
        { deviceId: 'dev-c', ts: T0 + 1, value: 0 },
        { deviceId: 'dev-a', ts: T0 + 2, value: 1 },
        { deviceId: 'dev-b', ts: T0 + 2, value: 2 },
        { deviceId: 'dev-a', ts: T0 + 3, value: 3 },
      ]);
      expect(await store.raw({ metric: 'temp', from: T0, to: T0 + HOUR, limit: 2 })).toEqual([
        { deviceId: 'dev-c', ts: T0 + 1, value: 0 },
        { deviceId: 'dev-a', ts: T0 + 2, value: 1 },
      ]);
      expect(await store.raw({ metric: 'temp', deviceIds: ['dev-a'], from: T0 + 2, to: T0 + 3 })).toEqual([{ deviceId: 'dev-a', ts: T0 + 2, value: 1 }]);
      expect(await store.raw({ metric: 'temp', deviceIds: [], from: T0, to: T0 + HOUR })).toEqual([]);
    });

    it('waits for writes in flight when it closes, and refuses writes after', async () => {
      const { store, reopen } = await fresh();
      const points = Array.from({ length: 20_000 }, (_, k): TelemetryPoint => ({ deviceId: `dev-${k % 10}xx`, ts: T0 + k, metrics: { temp: k } }));
      const writing = store.write(points);
      const closing = store.close();
      expect(await writing).toEqual({ written: 20_000, deadLettered: 0 });
      await closing;
      await expectCode(store.write(points.slice(0, 1)), 'TELEMETRY_STORE_UNAVAILABLE');
      await store.close(); // idempotent
      const again = await reopen();
      opened.push(again);
      expect(await again.fleet({ metric: 'temp', from: T0, to: T0 + HOUR, everyMs: HOUR, fn: 'count' })).toEqual([{ ts: T0, value: 20_000 }]);
      expect(await again.ping()).toBe(true);
    });

    it('counts writes in its stats', async () => {
      const { store } = await fresh();
      await store.write(pointsOf('temp', tenSecondSamples('dev-a')));
      await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 'x' } }]);
      expect(store.stats()).toMatchObject({ pointsWritten: 30, batchesWritten: 2, deadLetters: 1, inFlight: 0, writeErrors: 0 });
      expect(store.stats().lastWriteMs).toBeGreaterThan(0);
    });

    // Only where the backend can be away: the embedded store has none (see the harness).
    if (harness.outage !== undefined) {
      const outage = harness.outage;
      it('rejects writes with a retryable coded error while the store is down, and writes again once it is back', async () => {
        const { store } = await fresh();
        await store.write([{ deviceId: 'dev-a', ts: T0, metrics: { temp: 1 } }]);
        await outage.stop();
        try {
          const error = await expectCode(store.write([{ deviceId: 'dev-a', ts: T0 + SECOND, metrics: { temp: 2 } }]), 'TELEMETRY_STORE_UNAVAILABLE');
          expect(isRetryableStoreError(error)).toBe(true);
          expect(store.stats().writeErrors).toBe(1);
          expect(await store.ping()).toBe(false);
          await expectCode(store.latest('dev-a'), 'TELEMETRY_STORE_UNAVAILABLE');
        } finally {
          await outage.start();
        }
        expect(await store.ping()).toBe(true);
        expect(await store.write([{ deviceId: 'dev-a', ts: T0 + SECOND, metrics: { temp: 2 } }])).toEqual({ written: 1, deadLettered: 0 });
        expect(await store.range({ deviceId: 'dev-a', metric: 'temp', from: T0, to: T0 + MINUTE, everyMs: MINUTE, fn: 'count' })).toEqual([{ ts: T0, value: 2 }]);
      });
    }
  });
}
