import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { escapeIdentifier, queryInfluxQL } from '../../src/adapters/influxql.js';
import { openInfluxTelemetryStore, type InfluxTelemetryStoreOptions } from '../../src/adapters/influx-store.js';
import { openTelemetryStore } from '../../src/store/open-store.js';
import type { TelemetryPoint, TelemetryStore } from '../../src/store/telemetry-store.js';
import { telemetryStoreContract, type OpenedStore } from '../contract/telemetry-store-contract.js';
import { startInfluxd, type InfluxdHandle } from './influxd-service.js';

/** Room for influxd to start (or restart) and the work around it. */
const HOOK_MS = 60_000;

let influx: InfluxdHandle | undefined;
let dir = '';
let databases = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-influx-store-'));
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

/** Options for a store on a database of its own (created by the store on first contact). */
function freshOptions(overrides: Partial<InfluxTelemetryStoreOptions> = {}): InfluxTelemetryStoreOptions {
  databases += 1;
  return {
    url: url(),
    api: 'auto',
    db: `outpost_test_${databases}`,
    retentionDays: 30,
    deadLetterFile: path.join(dir, `dead-${databases}.jsonl`),
    maxRetries: 1,
    retryMinMs: 5,
    retryMaxMs: 20,
    timeoutMs: 5_000,
    ...overrides,
  };
}

telemetryStoreContract('InfluxDB 1.x', {
  async fresh(): Promise<OpenedStore> {
    const options = freshOptions();
    const open = (): Promise<TelemetryStore> =>
      openTelemetryStore({
        influx: { url: options.url, api: 'auto', db: options.db },
        embeddedFile: path.join(dir, 'unused.sqlite'),
        retentionDays: options.retentionDays,
        deadLetterFile: options.deadLetterFile,
        timeoutMs: 5_000,
      });
    return { store: await open(), deadLetterFile: options.deadLetterFile, reopen: open };
  },
  outage: {
    stop: async () => influx?.kill(),
    start: async () => influx?.restart(),
  },
});

describe('InfluxDB store', () => {
  const opened: TelemetryStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });
  const open = async (options: InfluxTelemetryStoreOptions): Promise<TelemetryStore> => {
    const store = await openInfluxTelemetryStore(options);
    opened.push(store);
    return store;
  };

  it('detects InfluxDB 1.x from /ping and creates its database with the retention', async () => {
    const options = freshOptions({ retentionDays: 7 });
    const store = await open(options);
    expect(store.kind).toBe('influxdb-v1');
    const [policies] = await queryInfluxQL({ url: url(), db: options.db }, `SHOW RETENTION POLICIES ON ${escapeIdentifier(options.db)}`);
    const columns = policies?.series[0]?.columns ?? [];
    const row = policies?.series[0]?.values[0] ?? [];
    expect(row[columns.indexOf('duration')]).toBe('168h0m0s');
  });

  it('writes numbers as float fields, booleans and strings typed', async () => {
    const options = freshOptions();
    const store = await open(options);
    await store.write([{ deviceId: 'dev-a', ts: Date.now(), metrics: { whole: 1, frac: 0.25, on: true, mode: 'a b' } }]);
    const [keys] = await queryInfluxQL({ url: url(), db: options.db }, 'SHOW FIELD KEYS FROM "telemetry"');
    expect(Object.fromEntries((keys?.series[0]?.values ?? []).map(([name, type]) => [name, type]))).toEqual({
      whole: 'float',
      frac: 'float',
      on: 'boolean',
      mode: 'string',
    });
  });

  it('dead-letters the lines InfluxDB refuses (a type fixed by another writer) and keeps the others', async () => {
    const options = freshOptions({ batchLines: 8 });
    const store = await open(options);
    // The start of a second, so the 20 points (1 ms apart) fall in one 1 s bucket (CI once saw 10 + 9).
    const now = Math.floor(Date.now() / 1000) * 1000;
    // The store does not know `speed` yet; another writer fixes it as a string meanwhile.
    await queryInfluxQL({ url: url() }, 'SHOW DATABASES');
    const response = await fetch(`${url()}/write?db=${options.db}&precision=ms`, { method: 'POST', body: `telemetry,device=dev-x speed="fast" ${now}` });
    expect(response.status).toBe(204);
    const points = Array.from({ length: 20 }, (_, k): TelemetryPoint => ({ deviceId: 'dev-a', ts: now + k, metrics: k === 13 ? { speed: 5 } : { temp: k } }));
    expect(await store.write(points)).toEqual({ written: 19, deadLettered: 1 });
    const letters = (await readFile(options.deadLetterFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(letters).toEqual([expect.objectContaining({ deviceId: 'dev-a', ts: now + 13, line: `telemetry,device=dev-a speed=5 ${now + 13}` })]);
    expect(String(letters[0]?.['reason'])).toMatch(/HTTP 400: partial write: field type conflict/);
    expect(await store.range({ deviceId: 'dev-a', metric: 'temp', from: now, to: now + 20, everyMs: 1_000, fn: 'count' })).toEqual([
      { ts: now, value: 19 },
    ]);
    expect(store.stats().deadLetters).toBe(1);
    // After the refusal the store asked InfluxDB for the field types: the next number for `speed`
    // is refused before it is sent (its own reason, not InfluxDB's), a string goes in.
    expect(await store.write([{ deviceId: 'dev-a', ts: now + 30, metrics: { speed: 6 } }, { deviceId: 'dev-a', ts: now + 31, metrics: { speed: 'slow' } }])).toEqual({
      written: 1,
      deadLettered: 1,
    });
    const later = (await readFile(options.deadLetterFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(String(later[1]?.['reason'])).toMatch(/^TYPE_CONFLICT: metric speed is stored as string/);
  });

  it('does not open with api auto while InfluxDB does not answer, and names the way out', async () => {
    const options = freshOptions({ url: 'http://127.0.0.1:9' });
    await expect(openInfluxTelemetryStore(options)).rejects.toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE', message: /set the API/ });
    const forced = await open({ ...options, api: 'v1' });
    expect(forced.kind).toBe('influxdb-v1');
    await expect(forced.write([{ deviceId: 'dev-a', ts: Date.now(), metrics: { temp: 1 } }])).rejects.toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
  });

  it('bounds its sockets and counts writes in flight', async () => {
    const store = await open(freshOptions({ maxSockets: 2, batchLines: 100 }));
    const now = Date.now();
    const writing = store.write(Array.from({ length: 2_000 }, (_, k) => ({ deviceId: 'dev-a', ts: now + k, metrics: { temp: k } })));
    expect(store.stats().inFlight).toBe(1);
    expect(await writing).toEqual({ written: 2_000, deadLettered: 0 });
    expect(store.stats()).toMatchObject({ inFlight: 0, pointsWritten: 2_000 });
  });
});
