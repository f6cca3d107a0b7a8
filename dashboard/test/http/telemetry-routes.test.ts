import type { TelemetryPoint, TelemetryStore } from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardPlatform, type DashboardPlatform } from '../helpers/dashboard-platform.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A whole hour, so minute buckets of the last hour start at NOW - 60 min exactly. */
const NOW = Math.floor(Date.now() / HOUR) * HOUR;
const HOUR_AGO = NOW - HOUR;

interface Series {
  metric: string;
  group?: string;
  every: string;
  fn: string;
  from: number;
  to: number;
  points: { ts: number; value: number | boolean | string }[];
}
interface ErrorBody {
  code: string;
  message: string;
}

/** Store methods reached, by name: a refused request must never add to it. */
const reached: string[] = [];

/** The real store, with each query method call recorded. */
function recording(store: TelemetryStore): TelemetryStore {
  const note = <A extends unknown[], R>(name: string, fn: (...args: A) => R) => (...args: A): R => {
    reached.push(name);
    return fn(...args);
  };
  return {
    kind: store.kind,
    write: (points) => store.write(points),
    range: note('range', (q) => store.range(q)),
    fleet: note('fleet', (q) => store.fleet(q)),
    latest: note('latest', (id) => store.latest(id)),
    metrics: note('metrics', (id) => store.metrics(id)),
    raw: note('raw', (q) => store.raw(q)),
    ping: () => store.ping(),
    stats: () => store.stats(),
    close: () => store.close(),
  };
}

/** 6 samples a minute over the last hour: pi-01's temperature is the sample index k (0…359). */
function lastHour(deviceId: string, value: (k: number) => number): TelemetryPoint[] {
  return Array.from({ length: 360 }, (_, k) => ({ deviceId, ts: HOUR_AGO + k * 10_000, metrics: { temperature: value(k) } }));
}

describe('telemetry query routes', () => {
  let t: DashboardPlatform;
  let viewer: string;

  const get = async (url: string, token = viewer) => t.api('GET', url, { token });
  const series = async (url: string): Promise<Series> => {
    const res = await get(url);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Series;
  };

  beforeAll(async () => {
    t = await startDashboardPlatform({ now: NOW, wrapStore: recording });
    viewer = await t.userToken('viewer');
    await t.enroll('pi-01', 'greenhouse');
    await t.enroll('pi-02', 'greenhouse');
    await t.enroll('pi-03', 'barn');
    await t.enroll('pi-04', 'lab');
    const load = Array.from({ length: 30 * 288 }, (_, i) => ({ deviceId: 'pi-02', ts: NOW - 30 * DAY + i * 5 * MINUTE, metrics: { load: i % 100 } }));
    const written = await t.store.write([
      ...lastHour('pi-01', (k) => k),
      ...lastHour('pi-02', () => 50),
      ...lastHour('pi-03', () => 100),
      ...load,
      { deviceId: 'pi-01', ts: NOW - 2 * MINUTE, metrics: { door: false } },
      { deviceId: 'pi-01', ts: NOW - MINUTE, metrics: { door: true, state: 'ok' } },
    ]);
    expect(written).toEqual({ written: 3 * 360 + load.length + 2, deadLettered: 0 });
  }, 120_000);
  afterAll(async () => t?.close());

  describe('a device series', () => {
    it.each([
      ['mean', (b: number) => 6 * b + 2.5],
      ['min', (b: number) => 6 * b],
      ['max', (b: number) => 6 * b + 5],
      ['last', (b: number) => 6 * b + 5],
      ['count', () => 6],
    ])('aggregates each bucket with fn=%s', async (fn, expected) => {
      const s = await series(`/api/v1/devices/pi-01/telemetry?metric=temperature&from=${HOUR_AGO}&to=${NOW}&every=1m&fn=${fn}`);
      expect(s).toMatchObject({ metric: 'temperature', every: '1m', fn, from: HOUR_AGO, to: NOW });
      expect(s.points).toEqual(Array.from({ length: 60 }, (_, b) => ({ ts: HOUR_AGO + b * MINUTE, value: expected(b) })));
    });

    it('defaults to the last hour, the mean and an automatic round bucket', async () => {
      const s = await series('/api/v1/devices/pi-01/telemetry?metric=temperature');
      expect(s).toMatchObject({ every: '10s', fn: 'mean', from: HOUR_AGO, to: NOW });
      expect(s.points).toHaveLength(360);
      expect(s.points[359]).toEqual({ ts: NOW - 10_000, value: 359 });
    });

    it('reads RFC 3339 times', async () => {
      const from = new Date(NOW - 10 * MINUTE).toISOString();
      const s = await series(`/api/v1/devices/pi-01/telemetry?metric=temperature&from=${from}&to=${new Date(NOW).toISOString()}&every=5m&fn=count`);
      expect(s.points).toEqual([
        { ts: NOW - 10 * MINUTE, value: 30 },
        { ts: NOW - 5 * MINUTE, value: 30 },
      ]);
    });

    it('never answers more than 2,000 points over 30 days, raising every to a round bucket', async () => {
      const fine = await series(`/api/v1/devices/pi-02/telemetry?metric=load&from=${NOW - 30 * DAY}&to=${NOW}&every=1s&fn=max`);
      expect(fine.every).toBe('30m');
      expect(fine.points.length).toBeLessThanOrEqual(2_000);
      expect(fine.points.length).toBe(1_440);
      const auto = await series(`/api/v1/devices/pi-02/telemetry?metric=load&from=${NOW - 30 * DAY}&to=${NOW}`);
      expect(auto.every).toBe('2h');
      // 30 days of 2-hour buckets aligned to the epoch: 360, or 361 when the window starts mid-bucket.
      expect(auto.points.length).toBeGreaterThanOrEqual(360);
      expect(auto.points.length).toBeLessThanOrEqual(361);
      expect(auto.points.every((p) => p.ts % (2 * HOUR) === 0)).toBe(true);
    });

    it('keeps an every that fits the budget', async () => {
      const s = await series(`/api/v1/devices/pi-01/telemetry?metric=temperature&from=${NOW - 10 * MINUTE}&to=${NOW}&every=90s&fn=count`);
      expect(s.every).toBe('90s');
      // Buckets start at multiples of 90 s since the epoch: the first one holds the window's first minute only.
      expect(s.points.map((p) => p.value)).toEqual([6, 9, 9, 9, 9, 9, 9]);
      expect(s.points[0]?.ts).toBe(NOW - 630_000);
    });

    it('answers no points for an empty range, a metric never sent, and a device without data', async () => {
      expect((await series(`/api/v1/devices/pi-01/telemetry?metric=temperature&from=${NOW - 10 * DAY}&to=${NOW - 9 * DAY}`)).points).toEqual([]);
      expect((await series('/api/v1/devices/pi-01/telemetry?metric=pressure')).points).toEqual([]);
      expect((await series('/api/v1/devices/pi-04/telemetry?metric=temperature')).points).toEqual([]);
    });

    it('answers last and count of a string or boolean metric, and refuses their mean', async () => {
      expect((await series('/api/v1/devices/pi-01/telemetry?metric=state&fn=last&every=1h')).points).toEqual([{ ts: HOUR_AGO, value: 'ok' }]);
      expect((await series('/api/v1/devices/pi-01/telemetry?metric=door&fn=count&every=1h')).points).toEqual([{ ts: HOUR_AGO, value: 2 }]);
      const mean = await get('/api/v1/devices/pi-01/telemetry?metric=door&fn=mean');
      expect(mean.status).toBe(400);
      expect((mean.body as ErrorBody).code).toBe('TELEMETRY_QUERY_INVALID');
    });
  });

  it("answers a device's latest values and its metrics with their types", async () => {
    const latest = await get('/api/v1/devices/pi-01/latest');
    expect(latest).toEqual({
      status: 200,
      body: {
        deviceId: 'pi-01',
        metrics: { temperature: { ts: NOW - 10_000, value: 359 }, door: { ts: NOW - MINUTE, value: true }, state: { ts: NOW - MINUTE, value: 'ok' } },
      },
    });
    const metrics = await get('/api/v1/devices/pi-01/metrics');
    expect(metrics.status).toBe(200);
    const body = metrics.body as { deviceId: string; metrics: { name: string; type: string }[] };
    expect(body.deviceId).toBe('pi-01');
    expect([...body.metrics].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'door', type: 'boolean' },
      { name: 'state', type: 'string' },
      { name: 'temperature', type: 'number' },
    ]);
    expect(await get('/api/v1/devices/pi-04/latest')).toEqual({ status: 200, body: { deviceId: 'pi-04', metrics: {} } });
    expect(await get('/api/v1/devices/pi-04/metrics')).toEqual({ status: 200, body: { deviceId: 'pi-04', metrics: [] } });
  });

  describe('fleet series', () => {
    const fleet = (query: string) => series(`/api/v1/fleet/telemetry?metric=temperature&from=${HOUR_AGO}&to=${NOW}&every=1m&${query}`);

    it('aggregates every device without a group', async () => {
      const s = await fleet('fn=count');
      expect(s.group).toBeUndefined();
      expect(new Set(s.points.map((p) => p.value))).toEqual(new Set([18]));
      expect(s.points).toHaveLength(60);
    });

    it("aggregates only a group's devices", async () => {
      const greenhouse = await fleet('group=greenhouse&fn=count');
      expect(greenhouse).toMatchObject({ group: 'greenhouse', every: '1m' });
      expect(new Set(greenhouse.points.map((p) => p.value))).toEqual(new Set([12]));
      const barn = await fleet('group=barn&fn=mean');
      expect(new Set(barn.points.map((p) => p.value))).toEqual(new Set([100]));
      expect((await fleet('group=greenhouse&fn=max')).points[0]).toEqual({ ts: HOUR_AGO, value: 50 });
    });

    it('answers no points for a group without data or without devices', async () => {
      expect((await fleet('group=lab')).points).toEqual([]);
      const before = reached.length;
      expect((await fleet('group=nowhere')).points).toEqual([]);
      expect(reached.length).toBe(before);
    });

    it('raises every over 30 days like a device series', async () => {
      const s = await series(`/api/v1/fleet/telemetry?metric=load&from=${NOW - 30 * DAY}&to=${NOW}&every=10s`);
      expect(s.every).toBe('30m');
      expect(s.points.length).toBeLessThanOrEqual(2_000);
    });
  });

  it.each(['telemetry?metric=temperature', 'latest', 'metrics'])('answers 404 for an unknown device (/%s)', async (path) => {
    const res = await get(`/api/v1/devices/pi-99/${path}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'DEVICE_NOT_FOUND', message: 'no device pi-99' });
  });

  it('needs a token, and a viewer may read', async () => {
    expect((await t.api('GET', '/api/v1/devices/pi-01/telemetry?metric=temperature')).status).toBe(401);
    expect((await t.api('GET', '/api/v1/fleet/telemetry?metric=temperature')).status).toBe(401);
    expect((await get('/api/v1/fleet/telemetry?metric=temperature', await t.userToken('viewer'))).status).toBe(200);
  });

  describe('refuses bad input with a 400 naming the reason, before any store query', () => {
    const device = '/api/v1/devices/pi-01/telemetry';
    const fleetUrl = '/api/v1/fleet/telemetry';
    const cases: [string, string, string][] = [
      ['no metric', `${device}?from=${HOUR_AGO}`, 'must have the property "metric"'],
      ['an empty metric', `${device}?metric=`, 'metric must match pattern'],
      ['a quote in the metric', `${device}?metric=${encodeURIComponent('temp"erature')}`, 'metric must match pattern'],
      ['a statement in the metric', `${device}?metric=${encodeURIComponent('temperature; DROP MEASUREMENT telemetry')}`, 'metric must match pattern'],
      ['a newline in the metric', `${device}?metric=${encodeURIComponent('temperature\nSELECT')}`, 'metric must match pattern'],
      ['a regex in the metric', `${device}?metric=${encodeURIComponent('/.*/')}`, 'metric must match pattern'],
      ['an alternation in the metric', `${device}?metric=${encodeURIComponent('temperature|load')}`, 'metric must match pattern'],
      ['a reserved metric name', `${device}?metric=time`, 'metric "time" is a reserved name'],
      ['an unreadable from', `${device}?metric=temperature&from=yesterday`, 'from must be epoch milliseconds or an RFC 3339 time'],
      ['an injection in from', `${device}?metric=temperature&from=${encodeURIComponent("0' OR 1=1")}`, 'from must be epoch milliseconds or an RFC 3339 time'],
      ['a time without zone', `${device}?metric=temperature&to=2026-01-31T12:00:00`, 'to must be epoch milliseconds or an RFC 3339 time'],
      ['from after to', `${device}?metric=temperature&from=${NOW}&to=${HOUR_AGO}`, 'from must be before to'],
      ['from equal to to', `${device}?metric=temperature&from=${NOW}&to=${NOW}`, 'from must be before to'],
      ['a range over 400 days', `${device}?metric=temperature&from=${NOW - 401 * DAY}&to=${NOW}`, 'must be at most 400d'],
      ['every under a second', `${device}?metric=temperature&every=500ms`, 'every must be at least 1s'],
      ['every of zero', `${device}?metric=temperature&every=0s`, 'every must be at least 1s'],
      ['an unreadable every', `${device}?metric=temperature&every=${encodeURIComponent('5 minutes')}`, 'invalid duration'],
      ['an unknown fn', `${device}?metric=temperature&fn=median`, 'fn must be one of'],
      ['an unknown parameter', `${device}?metric=temperature&limit=5`, 'must not have the property "limit"'],
      ['an upper-case device id', '/api/v1/devices/PI-01/telemetry?metric=temperature', 'id must match pattern'],
      ['a quote in the device id', `/api/v1/devices/${encodeURIComponent('pi-01"')}/latest`, 'id must match pattern'],
      ['a statement in the device id', `/api/v1/devices/${encodeURIComponent("pi-01';DROP")}/metrics`, 'id must match pattern'],
      ['a regex in the device id', `/api/v1/devices/${encodeURIComponent('pi-.*')}/telemetry?metric=temperature`, 'id must match pattern'],
      ['a newline in the device id', `/api/v1/devices/${encodeURIComponent('pi-01\nx')}/latest`, 'id must match pattern'],
      ['a quote in the group', `${fleetUrl}?metric=temperature&group=${encodeURIComponent('barn"')}`, 'group must match pattern'],
      ['a regex in the group', `${fleetUrl}?metric=temperature&group=${encodeURIComponent('.*')}`, 'group must match pattern'],
      ['a statement in the group', `${fleetUrl}?metric=temperature&group=${encodeURIComponent('barn;DROP')}`, 'group must match pattern'],
      ['a newline in the group', `${fleetUrl}?metric=temperature&group=${encodeURIComponent('barn\n')}`, 'group must match pattern'],
      ['a bad window on the fleet', `${fleetUrl}?metric=temperature&every=1ms`, 'every must be at least 1s'],
    ];

    it.each(cases)('%s', async (_name, url, reason) => {
      const before = reached.length;
      const res = await get(url);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect((res.body as ErrorBody).message).toContain(reason);
      expect(reached.length).toBe(before);
    });
  });

  it('documents the routes in the OpenAPI document under the telemetry tag', async () => {
    const res = await t.api('GET', '/api/openapi.json');
    const paths = (res.body as { paths: Record<string, { get?: { tags?: string[]; parameters?: { name: string; in: string }[] } }> }).paths;
    for (const path of ['/api/v1/devices/{id}/telemetry', '/api/v1/devices/{id}/latest', '/api/v1/devices/{id}/metrics', '/api/v1/fleet/telemetry']) {
      expect(paths[path]?.get?.tags, path).toEqual(['telemetry']);
    }
    expect(paths['/api/v1/fleet/telemetry']?.get?.parameters?.map((p) => p.name).sort()).toEqual(['every', 'fn', 'from', 'group', 'metric', 'to']);
  });

  it('counts queries by route and outcome, and store time by query, for /metrics', async () => {
    const res = await t.api('GET', '/metrics');
    const text = String(res.body);
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(value(/^outpost_telemetry_queries_total\{route="\/api\/v1\/devices\/:id\/telemetry",outcome="ok"\} (\d+)$/m)).toBeGreaterThan(10);
    expect(value(/^outpost_telemetry_queries_total\{route="\/api\/v1\/devices\/:id\/telemetry",outcome="invalid"\} (\d+)$/m)).toBeGreaterThan(10);
    expect(value(/^outpost_telemetry_queries_total\{route="\/api\/v1\/devices\/:id\/latest",outcome="not_found"\} (\d+)$/m)).toBe(1);
    expect(value(/^outpost_telemetry_queries_total\{route="\/api\/v1\/fleet\/telemetry",outcome="ok"\} (\d+)$/m)).toBeGreaterThan(3);
    expect(value(/^outpost_telemetry_query_duration_seconds_count\{query="range"\} (\d+)$/m)).toBeGreaterThan(10);
    expect(value(/^outpost_telemetry_query_duration_seconds_count\{query="fleet"\} (\d+)$/m)).toBeGreaterThan(3);
  });
});

describe('telemetry query routes with the store down', () => {
  let t: DashboardPlatform;
  beforeAll(async () => {
    t = await startDashboardPlatform({ now: NOW, dashboard: { pingTimeoutMs: 500 } });
    await t.enroll('pi-01', 'lab');
    await t.store.close();
  }, 60_000);
  afterAll(async () => t?.close());

  it.each(['/api/v1/devices/pi-01/telemetry?metric=temperature', '/api/v1/devices/pi-01/latest', '/api/v1/devices/pi-01/metrics', '/api/v1/fleet/telemetry?metric=temperature'])(
    'answers 503 TELEMETRY_STORE_UNAVAILABLE for %s',
    async (url) => {
      const res = await t.api('GET', url, { token: t.admin });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
    },
  );

  it('still refuses bad input with 400 and unknown devices with 404', async () => {
    expect((await t.api('GET', '/api/v1/devices/pi-01/telemetry?metric=a%22b', { token: t.admin })).status).toBe(400);
    expect((await t.api('GET', '/api/v1/devices/pi-99/latest', { token: t.admin })).status).toBe(404);
  });
});
