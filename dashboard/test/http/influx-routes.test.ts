/**
 * The query routes over the InfluxDB store and a real influxd 1.6.7: the same answers as the
 * embedded store for the common cases, and 503 while influxd is down, 200 again once it is back.
 */
import { join } from 'node:path';
import { serviceTimeoutMs, startInfluxd, type InfluxdHandle } from '@outpost/e2e';
import { openTelemetryStore, type TelemetryPoint } from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardPlatform, type DashboardPlatform } from '../helpers/dashboard-platform.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR;
const HOUR_AGO = NOW - HOUR;
const START_MS = serviceTimeoutMs(15_000);
const HOOK_MS = START_MS * 2 + 60_000;

describe('telemetry query routes over InfluxDB', () => {
  let influx: InfluxdHandle | undefined;
  let t: DashboardPlatform | undefined;
  const get = async (url: string) => {
    if (t === undefined) throw new Error('no platform');
    return t.api('GET', url, { token: t.admin });
  };

  beforeAll(async () => {
    const server = await startInfluxd({ startTimeoutMs: START_MS });
    influx = server;
    t = await startDashboardPlatform({
      now: NOW,
      dashboard: { pingTimeoutMs: 1_000 },
      openStore: (dataDir, clock) =>
        openTelemetryStore({
          influx: { url: server.url, api: 'v1', db: 'outpost' },
          embeddedFile: join(dataDir, 'unused.sqlite'),
          deadLetterFile: join(dataDir, 'dead-letters.jsonl'),
          retentionDays: 30,
          timeoutMs: 2_000,
          clock,
        }),
    });
    await t.enroll('pi-01', 'greenhouse');
    await t.enroll('pi-02', 'barn');
    const points: TelemetryPoint[] = [];
    for (let k = 0; k < 360; k += 1) {
      points.push({ deviceId: 'pi-01', ts: HOUR_AGO + k * 10_000, metrics: { temperature: k } });
      points.push({ deviceId: 'pi-02', ts: HOUR_AGO + k * 10_000, metrics: { temperature: 100 } });
    }
    points.push({ deviceId: 'pi-01', ts: NOW - MINUTE, metrics: { door: true } });
    expect(await t.store.write(points)).toEqual({ written: points.length, deadLettered: 0 });
  }, HOOK_MS);

  afterAll(async () => {
    await t?.close();
    await influx?.stop();
  }, HOOK_MS);

  it.each([
    ['mean', (b: number) => 6 * b + 2.5],
    ['max', (b: number) => 6 * b + 5],
    ['count', () => 6],
  ])('answers a device series with fn=%s', async (fn, expected) => {
    const res = await get(`/api/v1/devices/pi-01/telemetry?metric=temperature&from=${HOUR_AGO}&to=${NOW}&every=1m&fn=${fn}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ every: '1m', fn, points: Array.from({ length: 60 }, (_, b) => ({ ts: HOUR_AGO + b * MINUTE, value: expected(b) })) });
  });

  it("answers a group's series and a device's latest values", async () => {
    const barn = await get(`/api/v1/fleet/telemetry?metric=temperature&group=barn&from=${HOUR_AGO}&to=${NOW}&every=30m&fn=mean`);
    expect(barn.body).toMatchObject({ group: 'barn', points: [{ ts: HOUR_AGO, value: 100 }, { ts: HOUR_AGO + 30 * MINUTE, value: 100 }] });
    const latest = await get('/api/v1/devices/pi-01/latest');
    expect(latest.body).toEqual({ deviceId: 'pi-01', metrics: { temperature: { ts: NOW - 10_000, value: 359 }, door: { ts: NOW - MINUTE, value: true } } });
  });

  it('answers 503 while influxd is down, and serves again once it is back', async () => {
    const url = `/api/v1/devices/pi-01/telemetry?metric=temperature&from=${HOUR_AGO}&to=${NOW}&every=1m`;
    await influx?.kill();
    for (const path of [url, '/api/v1/devices/pi-01/latest', '/api/v1/devices/pi-01/metrics', '/api/v1/fleet/telemetry?metric=temperature']) {
      const down = await get(path);
      expect(down.status, path).toBe(503);
      expect(down.body).toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
    }
    await influx?.restart();
    const back = await get(url);
    expect(back.status).toBe(200);
    expect((back.body as { points: unknown[] }).points).toHaveLength(60);
  }, HOOK_MS);
});
