import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openSqliteTelemetryStore, PAGE_SIZE, type SqliteTelemetryStore } from '../../src/adapters/sqlite-store.js';
import { openTelemetryStore } from '../../src/store/open-store.js';
import { telemetryStoreContract, type OpenedStore } from '../contract/telemetry-store-contract.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'outpost-telemetry-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// No `outage`: the embedded store is a file in this process, so "the store is down" cannot
// happen while it is open; its write failures (disk full, I/O errors) reject with the same
// TELEMETRY_STORE_UNAVAILABLE, covered below by writing to a closed database.
telemetryStoreContract('embedded SQLite', {
  async fresh(): Promise<OpenedStore> {
    const dir = await tempDir();
    const options = {
      embeddedFile: path.join(dir, 'telemetry.sqlite'),
      deadLetterFile: path.join(dir, 'dead-letters', 'telemetry.jsonl'),
      retentionDays: 30,
    };
    return { store: await openTelemetryStore(options), deadLetterFile: options.deadLetterFile, reopen: () => openTelemetryStore(options) };
  },
});

describe('embedded SQLite store', () => {
  const opened: SqliteTelemetryStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });

  async function open(now: { value: number }): Promise<SqliteTelemetryStore> {
    const dir = await tempDir();
    const store = openSqliteTelemetryStore({
      file: path.join(dir, 'nested', 'telemetry.sqlite'),
      deadLetterFile: path.join(dir, 'dead.jsonl'),
      retentionDays: 2,
      retentionIntervalMs: 0,
      clock: { now: () => now.value },
    });
    opened.push(store);
    return store;
  }

  it('is the store openTelemetryStore opens without InfluxDB', async () => {
    const dir = await tempDir();
    const store = await openTelemetryStore({ embeddedFile: path.join(dir, 't.sqlite'), deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 1 });
    opened.push(store as SqliteTelemetryStore);
    expect(store.kind).toBe('embedded');
    expect(await store.ping()).toBe(true);
  });

  it('deletes samples older than the retention, and their latest values', async () => {
    const day = 86_400_000;
    const now = { value: Date.UTC(2026, 5, 10) };
    const store = await open(now);
    const old = now.value - 3 * day;
    const recent = now.value - day;
    await store.write([
      { deviceId: 'dev-old', ts: old, metrics: { temp: 1 } },
      { deviceId: 'dev-a', ts: old, metrics: { temp: 2 } },
      { deviceId: 'dev-a', ts: recent, metrics: { temp: 3 } },
    ]);
    expect(await store.sweepRetention()).toBe(2);
    expect(await store.raw({ metric: 'temp', from: 0, to: now.value })).toEqual([{ deviceId: 'dev-a', ts: recent, value: 3 }]);
    expect(await store.range({ deviceId: 'dev-a', metric: 'temp', from: old - day, to: now.value, everyMs: day, fn: 'count' })).toEqual([
      { ts: Math.floor(recent / day) * day, value: 1 },
    ]);
    expect(await store.latest('dev-old')).toEqual({});
    expect(await store.latest('dev-a')).toEqual({ temp: { ts: recent, value: 3 } });
    now.value += 2 * day;
    expect(await store.sweepRetention()).toBe(1);
    expect(await store.metrics('dev-a')).toEqual([]);
  });

  it('runs retention on its own timer', async () => {
    const dir = await tempDir();
    const store = openSqliteTelemetryStore({ file: path.join(dir, 't.sqlite'), deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 1, retentionIntervalMs: 5 });
    opened.push(store);
    await store.write([{ deviceId: 'dev-a', ts: Date.now() - 3 * 86_400_000, metrics: { temp: 1 } }]);
    const deadline = Date.now() + 5_000;
    while ((await store.latest('dev-a')).temp !== undefined) {
      if (Date.now() > deadline) throw new Error('retention did not run');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });

  it('keeps the rollup exact when a replay replaces a value inside a minute', async () => {
    const now = { value: Date.UTC(2026, 5, 10) };
    const store = await open(now);
    const t = now.value - 3_600_000;
    await store.write(Array.from({ length: 60 }, (_, k) => ({ deviceId: 'dev-a', ts: t + k * 1000, metrics: { temp: k } })));
    await store.write([{ deviceId: 'dev-a', ts: t + 59_000, metrics: { temp: -100 } }]);
    const query = { deviceId: 'dev-a', metric: 'temp', from: t, to: t + 60_000, everyMs: 60_000 } as const;
    expect(await store.range({ ...query, fn: 'count' })).toEqual([{ ts: t, value: 60 }]);
    expect(await store.range({ ...query, fn: 'min' })).toEqual([{ ts: t, value: -100 }]);
    expect(await store.range({ ...query, fn: 'last' })).toEqual([{ ts: t, value: -100 }]);
    expect(await store.range({ ...query, fn: 'mean' })).toEqual([{ ts: t, value: ((58 * 59) / 2 - 100) / 60 }]);
  });

  it('stores every value of a write larger than one multi-row statement, the later of two equal (series, ts) winning', async () => {
    const now = { value: Date.UTC(2026, 5, 10) };
    const store = await open(now);
    const t = now.value - 3_600_000;
    // 3 devices × 301 samples × 3 metrics = 2,709 rows: statements of 128, 64, … 1 rows (cut
    // into powers of two), with a device's metrics interleaved in the points as ingest sends them.
    const points = ['dev-a', 'dev-b', 'dev-c'].flatMap((deviceId, d) =>
      Array.from({ length: 301 }, (_, k) => ({ deviceId, ts: t + k * 1000, metrics: { temp: d * 1000 + k, hum: -k, on: k % 2 === 0 } })),
    );
    // The same (device, metric, ts) again later in the same write: its value replaces the first.
    points.push({ deviceId: 'dev-b', ts: t + 5_000, metrics: { temp: 0.5, hum: 0.25, on: true } });
    expect(await store.write(points)).toEqual({ written: 904, deadLettered: 0 });
    const temps = await store.raw({ metric: 'temp', deviceIds: ['dev-b'], from: t, to: t + 301_000 });
    expect(temps).toHaveLength(301);
    expect(temps.map((p) => p.value)).toEqual(Array.from({ length: 301 }, (_, k) => (k === 5 ? 0.5 : 1000 + k)));
    expect(await store.raw({ metric: 'hum', from: t, to: t + 301_000, limit: 100_000 })).toHaveLength(903);
    expect((await store.raw({ metric: 'on', deviceIds: ['dev-c'], from: t, to: t + 3_000 })).map((p) => p.value)).toEqual([true, false, true]);
    const query = { deviceId: 'dev-b', metric: 'temp', from: t, to: t + 60_000, everyMs: 60_000 } as const;
    expect(await store.range({ ...query, fn: 'count' })).toEqual([{ ts: t, value: 60 }]);
    expect(await store.range({ ...query, fn: 'min' })).toEqual([{ ts: t, value: 0.5 }]);
    expect(await store.latest('dev-c')).toEqual({ temp: { ts: t + 300_000, value: 2300 }, hum: { ts: t + 300_000, value: -300 }, on: { ts: t + 300_000, value: true } });
  });


  it('keeps as latest the newest value of a write, whatever its order; of two tag sets at one time, the later in the write', async () => {
    const now = { value: Date.UTC(2026, 5, 10) };
    const store = await open(now);
    const t = now.value - 3_600_000;
    // Series ids in the order right, left: the write below names them left, right.
    await store.write([
      { deviceId: 'dev-a', ts: t, tags: { probe: 'right' }, metrics: { hum: 0 } },
      { deviceId: 'dev-a', ts: t, tags: { probe: 'left' }, metrics: { hum: 0 } },
    ]);
    await store.write([
      { deviceId: 'dev-a', ts: t + 9_000, metrics: { temp: 9 } },
      { deviceId: 'dev-a', ts: t + 2_000, metrics: { temp: 2, hum: 20 } },
      { deviceId: 'dev-a', ts: t + 5_000, tags: { probe: 'left' }, metrics: { hum: 51 } },
      { deviceId: 'dev-a', ts: t + 5_000, tags: { probe: 'right' }, metrics: { hum: 52 } },
      { deviceId: 'dev-a', ts: t + 4_000, metrics: { hum: 40 } },
    ]);
    expect(await store.latest('dev-a')).toEqual({ temp: { ts: t + 9_000, value: 9 }, hum: { ts: t + 5_000, value: 52 } });
    // A later write at the same time moves it again; an older one does not.
    await store.write([
      { deviceId: 'dev-a', ts: t + 5_000, tags: { probe: 'left' }, metrics: { hum: 53 } },
      { deviceId: 'dev-a', ts: t + 1_000, metrics: { temp: 1 } },
    ]);
    expect(await store.latest('dev-a')).toEqual({ temp: { ts: t + 9_000, value: 9 }, hum: { ts: t + 5_000, value: 53 } });
    expect((await store.raw({ metric: 'hum', deviceIds: ['dev-a'], from: t + 1, to: t + 10_000 })).map((p) => p.value)).toEqual([20, 40, 53, 52]);
  });
  it('creates a new file with 16 KiB pages, and opens a file of 4 KiB pages (made before them) with its data, keeping its page size', async () => {
    const dir = await tempDir();
    const t = Date.UTC(2026, 5, 10) - 3_600_000;
    const options = (file: string) => ({ file, deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 3_650, retentionIntervalMs: 0 });
    const pageSize = (file: string): number => {
      const peek = new Database(file, { readonly: true });
      try {
        return peek.pragma('page_size', { simple: true }) as number;
      } finally {
        peek.close();
      }
    };
    const fresh = openSqliteTelemetryStore(options(path.join(dir, 'new.sqlite')));
    opened.push(fresh);
    await fresh.write([{ deviceId: 'dev-a', ts: t, metrics: { temp: 1 } }]);
    expect(pageSize(path.join(dir, 'new.sqlite'))).toBe(PAGE_SIZE);

    // An old data dir: the same schema in a file of SQLite's default 4 KiB pages, with data.
    const oldFile = path.join(dir, 'old.sqlite');
    const made = new Database(oldFile);
    made.pragma('page_size = 4096');
    made.pragma('journal_mode = WAL');
    made.close();
    const before = openSqliteTelemetryStore(options(oldFile));
    await before.write(Array.from({ length: 120 }, (_, k) => ({ deviceId: 'dev-a', ts: t + k * 1000, metrics: { temp: k, on: k % 2 === 0 } })));
    await before.close();
    expect(pageSize(oldFile)).toBe(4096);
    const reopened = openSqliteTelemetryStore(options(oldFile));
    opened.push(reopened);
    await reopened.write([{ deviceId: 'dev-a', ts: t + 120_000, metrics: { temp: 120, on: true } }]);
    expect(pageSize(oldFile)).toBe(4096);
    expect(await reopened.range({ deviceId: 'dev-a', metric: 'temp', from: t, to: t + 180_000, everyMs: 60_000, fn: 'count' })).toEqual([
      { ts: t, value: 60 },
      { ts: t + 60_000, value: 60 },
      { ts: t + 120_000, value: 1 },
    ]);
    expect(await reopened.latest('dev-a')).toEqual({ temp: { ts: t + 120_000, value: 120 }, on: { ts: t + 120_000, value: true } });
    expect(await reopened.raw({ metric: 'on', from: t, to: t + 2_000 })).toEqual([
      { deviceId: 'dev-a', ts: t, value: true },
      { deviceId: 'dev-a', ts: t + 1000, value: false },
    ]);
  });

  it('recomputes the rollup minutes a write marked: on its timer, and at open after a crash', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 't.sqlite');
    const options = { file, deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 30, retentionIntervalMs: 0, rollupFlushMs: 3_600_000 };
    const t = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    // Never closed before the reopen: stands for a process killed before its flush.
    const crashed = openSqliteTelemetryStore(options);
    opened.push(crashed);
    await crashed.write(Array.from({ length: 30 }, (_, k) => ({ deviceId: 'dev-a', ts: t + k * 1000, metrics: { temp: k } })));
    const peek = new Database(file, { readonly: true });
    try {
      const rollup = (): unknown[] => peek.prepare('SELECT bucket, n, hi FROM rollup_1m ORDER BY bucket').all();
      expect(rollup()).toEqual([]);
      const reopened = openSqliteTelemetryStore({ ...options, rollupFlushMs: 50 });
      opened.push(reopened);
      expect(rollup()).toEqual([{ bucket: t, n: 30, hi: 29 }]);
      await reopened.write([{ deviceId: 'dev-a', ts: t + 60_000, metrics: { temp: 100 } }]);
      await vi.waitFor(() => expect(rollup()).toEqual([{ bucket: t, n: 30, hi: 29 }, { bucket: t + 60_000, n: 1, hi: 100 }]), { timeout: 10_000, interval: 20 });
    } finally {
      peek.close();
    }
  });

  it('keeps the fixed type of a metric across reopen', async () => {
    const dir = await tempDir();
    const options = { file: path.join(dir, 't.sqlite'), deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 30, retentionIntervalMs: 0 };
    const first = openSqliteTelemetryStore(options);
    await first.write([{ deviceId: 'dev-a', ts: Date.now(), metrics: { temp: 1 } }]);
    await first.close();
    const second = openSqliteTelemetryStore(options);
    opened.push(second);
    expect(await second.write([{ deviceId: 'dev-b', ts: Date.now(), metrics: { temp: 'x' } }])).toEqual({ written: 0, deadLettered: 1 });
  });

  it('rejects a write it cannot store with TELEMETRY_STORE_UNAVAILABLE and keeps working after', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 't.sqlite');
    const store = openSqliteTelemetryStore({ file, deadLetterFile: path.join(dir, 'd.jsonl'), retentionDays: 30, retentionIntervalMs: 0, busyTimeoutMs: 20 });
    opened.push(store);
    // Another connection holds the write lock: the write fails after busyTimeoutMs.
    const Database = (await import('better-sqlite3')).default;
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    try {
      const failed = await store.write([{ deviceId: 'dev-a', ts: Date.now(), metrics: { temp: 1 } }]).then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
      expect(failed?.code).toBe('TELEMETRY_STORE_UNAVAILABLE');
      expect(store.stats().writeErrors).toBe(1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await store.write([{ deviceId: 'dev-a', ts: Date.now(), metrics: { temp: 1 } }])).toEqual({ written: 1, deadLettered: 0 });
  });
});
