import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Point } from '@influxdata/influxdb-client';
import {
  createInfluxV1WriteApi,
  escapeIdentifier,
  escapeStringLiteral,
  InfluxQLError,
  queryInfluxQL,
  type InfluxQLOptions,
  type InfluxQLValue,
} from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTimeoutMs, startChromium, startInfluxd, waitFor, type InfluxdHandle } from '../src/index.js';

const START_MS = serviceTimeoutMs(15_000);
/** Deadline for writes to become visible to queries. */
const LANDED_MS = serviceTimeoutMs(10_000);
/** Hooks and tests get room for a start (or restart) plus the work around it. */
const HOOK_MS = START_MS * 2 + 10_000;

const DB = 'outpost_e2e';
/** 2026-01-01T00:00:00Z in seconds: a multiple of 100 s, so GROUP BY time(100s) buckets align. */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const POINTS_PER_DEVICE = 50;

interface Sample {
  readonly device: string;
  readonly time: number;
  readonly temp: number;
  readonly humidity: number;
}

/** 100 samples, 50 per device, 10 s apart; values are exact binary fractions, so equality is exact. */
const SAMPLES: readonly Sample[] = Array.from({ length: POINTS_PER_DEVICE }, (_, k) => [
  { device: 'dev-a', time: T0 + 10 * k, temp: 20 + 0.25 * k, humidity: 40 + k },
  { device: 'dev-b', time: T0 + 10 * k, temp: -5 - 0.5 * k, humidity: 90 - k },
]).flat();

function rowsOf(result: { series: readonly { values: readonly (readonly InfluxQLValue[])[] }[] } | undefined) {
  return result?.series[0]?.values ?? [];
}

describe('InfluxDB 1.x round trip through the v1 transport', () => {
  let influx: InfluxdHandle | undefined;
  let query: InfluxQLOptions;

  beforeAll(async () => {
    influx = await startInfluxd({ startTimeoutMs: START_MS });
    query = { url: influx.url, db: DB, epoch: 's' };
  }, HOOK_MS);

  afterAll(async () => {
    await influx?.stop();
  }, HOOK_MS);

  it('runs the influxd it started, on loopback', () => {
    expect(influx?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(influx?.version).toMatch(/^1\./);
    expect(influx?.running).toBe(true);
  });

  it('writes 100 points with WriteApi and reads exact values back with InfluxQL', async () => {
    await queryInfluxQL({ url: query.url }, `CREATE DATABASE ${escapeIdentifier(DB)}`);

    const writer = createInfluxV1WriteApi({
      url: query.url,
      db: DB,
      precision: 's',
      maxSockets: 2,
      // Four batches of 25 leave as fire-and-forget flushes: close() must still wait for them.
      writeOptions: { batchSize: 25, flushInterval: 0, writeFailed: (error) => Promise.reject(error) },
    });
    for (const sample of SAMPLES) {
      writer.writeApi.writePoint(
        new Point('telemetry')
          .tag('device', sample.device)
          .floatField('temp', sample.temp)
          .floatField('humidity', sample.humidity)
          .timestamp(sample.time),
      );
    }
    await writer.writeApi.flush();
    await writer.writeApi.close();
    // The pitfall: the client's close() has resolved, yet the four batches are still on the wire.
    expect(writer.transport.inFlight).toBe(4);
    await writer.close(); // waits for them (transport.drain), then closes the agent
    expect(writer.transport.inFlight).toBe(0);

    // Acknowledged writes are queryable at once in 1.x; poll with a deadline all the same.
    const total = await waitFor(
      async () => {
        const [result] = await queryInfluxQL(query, 'SELECT count(temp) FROM telemetry');
        const count = rowsOf(result)[0]?.[1];
        return count === SAMPLES.length ? count : undefined;
      },
      { description: `${SAMPLES.length} points to be queryable`, timeoutMs: LANDED_MS },
    );
    expect(total).toBe(100);

    // Raw rows of one device, with the value bound as a parameter.
    const [rawA] = await queryInfluxQL(query, 'SELECT temp, humidity FROM telemetry WHERE device = $device', {
      device: 'dev-a',
    });
    expect(rawA?.series[0]?.columns).toEqual(['time', 'temp', 'humidity']);
    expect(rowsOf(rawA)).toEqual(
      SAMPLES.filter((s) => s.device === 'dev-a').map((s) => [s.time, s.temp, s.humidity]),
    );

    // The same with an escaped literal instead of a parameter.
    const [rawB] = await queryInfluxQL(
      query,
      `SELECT temp, humidity FROM telemetry WHERE device = ${escapeStringLiteral('dev-b')}`,
    );
    expect(rowsOf(rawB)).toEqual(
      SAMPLES.filter((s) => s.device === 'dev-b').map((s) => [s.time, s.temp, s.humidity]),
    );

    // Server-side downsampling: 5 buckets of 100 s, 10 samples each.
    const [buckets] = await queryInfluxQL(
      query,
      'SELECT count(temp), mean(temp), min(temp), max(temp) FROM telemetry ' +
        'WHERE device = $device AND time >= $start AND time < $end GROUP BY time(100s) fill(none)',
      { device: 'dev-a', start: new Date(T0 * 1000).toISOString(), end: new Date((T0 + 500) * 1000).toISOString() },
    );
    expect(rowsOf(buckets)).toEqual(
      [0, 1, 2, 3, 4].map((j) => [T0 + 100 * j, 10, 21.125 + 2.5 * j, 20 + 2.5 * j, 22.25 + 2.5 * j]),
    );

    // Several statements, tags of grouped series.
    const [perDevice, measurements] = await queryInfluxQL(
      query,
      'SELECT count(humidity) FROM telemetry GROUP BY device; SHOW MEASUREMENTS',
    );
    expect(perDevice?.series.map((s) => [s.tags['device'], s.values[0]?.[1]])).toEqual([
      ['dev-a', 50],
      ['dev-b', 50],
    ]);
    expect(rowsOf(measurements)).toEqual([['telemetry']]);
  });

  it('quotes identifiers and string literals the way the real parser reads them', async () => {
    // Quotes and a backslash (not before a space or comma, which line protocol would read as an escape).
    const measurement = 'odd "name" back\\slash';
    const device = `o'neil "x" \\ y`;
    const writer = createInfluxV1WriteApi({ url: query.url, db: DB, precision: 's' });
    writer.writeApi.writePoint(new Point(measurement).tag('device', device).floatField('v', 1).timestamp(T0));
    await writer.close();

    const byLiteral = await waitFor(
      async () => {
        const [result] = await queryInfluxQL(
          query,
          `SELECT v, device FROM ${escapeIdentifier(measurement)} WHERE device = ${escapeStringLiteral(device)}`,
        );
        return rowsOf(result).length > 0 ? rowsOf(result) : undefined;
      },
      { description: 'the oddly named point to be queryable', timeoutMs: LANDED_MS },
    );
    expect(byLiteral).toEqual([[T0, 1, device]]);

    const [byParameter] = await queryInfluxQL(
      query,
      `SELECT v FROM ${escapeIdentifier(measurement)} WHERE device = $device`,
      { device },
    );
    expect(rowsOf(byParameter)).toEqual([[T0, 1]]);

    // A newline is escaped, not sent raw (which the parser rejects): no such measurement, no error.
    const [none, noneEither] = await queryInfluxQL(
      query,
      `SELECT * FROM ${escapeIdentifier(`${measurement}\nsecond line`)}; ` +
        `SELECT v FROM ${escapeIdentifier(measurement)} WHERE device = ${escapeStringLiteral(`${device}\n`)}`,
    );
    expect(none?.series).toEqual([]);
    expect(noneEither?.series).toEqual([]);
    expect(() => escapeStringLiteral('carriage\rreturn')).toThrow(InfluxQLError);
  });

  it('reports parse errors and per-statement errors as coded errors', async () => {
    await expect(queryInfluxQL(query, 'SELECT FROM')).rejects.toMatchObject({
      code: 'TELEMETRY_ERR_INFLUXQL_HTTP',
      details: { status: 400 },
    });
    await expect(queryInfluxQL({ ...query, db: 'no_such_db' }, 'SELECT * FROM telemetry')).rejects.toMatchObject({
      code: 'TELEMETRY_ERR_INFLUXQL_STATEMENT',
      details: { statementId: 0 },
    });
    await expect(queryInfluxQL(query, 'SELECT * FROM telemetry WHERE device = $device')).rejects.toMatchObject({
      code: 'TELEMETRY_ERR_INFLUXQL_HTTP',
      message: expect.stringContaining('missing parameter') as unknown,
    });
  });

  it('keeps acknowledged data across a SIGKILL and a restart on the same port', async () => {
    const handle = influx;
    if (!handle) throw new Error('influxd did not start');
    const url = handle.url;
    await handle.kill();
    expect(handle.running).toBe(false);
    await expect(queryInfluxQL(query, 'SELECT count(temp) FROM telemetry')).rejects.toMatchObject({
      code: 'TELEMETRY_ERR_INFLUXQL_REQUEST',
    });

    await handle.restart();
    expect(handle.running).toBe(true);
    expect(handle.url).toBe(url);
    const [result] = await queryInfluxQL(query, 'SELECT count(temp) FROM telemetry');
    expect(rowsOf(result)[0]?.[1]).toBe(100);
  }, HOOK_MS);
});

describe('Chromium harness', () => {
  it('opens a page from a local HTTP server and reads its title', async () => {
    const server = http.createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><html><head><title>Outpost e2e</title></head><body><h1 id="hello">Hello, dashboard</h1></body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const chromium = await startChromium();
    try {
      const page = await chromium.browser.newPage();
      const { port } = server.address() as AddressInfo;
      const response = await page.goto(`http://127.0.0.1:${port}/`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('Outpost e2e');
      expect(await page.textContent('#hello')).toBe('Hello, dashboard');
    } finally {
      await chromium.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, HOOK_MS);
});
