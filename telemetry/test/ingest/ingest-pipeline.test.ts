/**
 * The ingest pipeline (ARCHITECTURE step 3) on a real spool and the embedded store: every
 * spooled sample is stored before the `ingest` cursor moves past it; a store that fails keeps
 * the records in the spool (retried with backoff) until it writes again. The end-to-end path
 * MQTT → spool → store is in broker/test/ingest/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteTelemetryStore, type SqliteTelemetryStore } from '../../src/adapters/sqlite-store.js';
import { IngestPipeline, INGEST_CONSUMER, TelemetryRecords } from '../../src/ingest/index.js';
import { openTelemetryStore } from '../../src/store/open-store.js';
import type { TelemetryStore } from '../../src/store/telemetry-store.js';
import type { WorkerTelemetryStore } from '../../src/store/worker-store.js';
import { eventually, memoryLogger, SpoolKit } from '../spool/spool-test-kit.js';

const T0 = 1_700_000_000_000;
const kit = new SpoolKit();
const stores: SqliteTelemetryStore[] = [];
const pipelines: IngestPipeline[] = [];
const workerStores: WorkerTelemetryStore[] = [];

afterEach(async () => {
  await Promise.allSettled(pipelines.splice(0).map((pipeline) => pipeline.close()));
  await Promise.allSettled([...stores.splice(0), ...workerStores.splice(0)].map((store) => store.close()));
  await kit.cleanup();
});

async function openStore(dir: string): Promise<SqliteTelemetryStore> {
  const store = await openSqliteTelemetryStore({ file: path.join(dir, 'telemetry.sqlite'), retentionDays: 3650, deadLetterFile: path.join(dir, 'dead-letters.jsonl'), retentionIntervalMs: 0 });
  stores.push(store);
  return store;
}

function batch(seq: number): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, seq, samples: [0, 1].map((i) => ({ ts: T0 + (seq * 2 + i) * 1000, metrics: { temp: seq * 2 + i } })) }));
}

/** A store that refuses writes while `failing` is set (a database that is down), else the real one. */
function switchable(store: TelemetryStore): { store: TelemetryStore; failing: boolean } {
  const handle = { failing: true, store };
  handle.store = Object.create(store, {
    write: { value: (...args: Parameters<TelemetryStore['write']>) => (handle.failing ? Promise.reject(Object.assign(new Error('store down'), { code: 'TELEMETRY_STORE_UNAVAILABLE' })) : store.write(...args)) },
    sync: { value: () => store.sync?.() },
  }) as TelemetryStore;
  return handle;
}

describe('IngestPipeline', () => {
  it('stores every spooled sample, then commits the cursor; a record that does not decode is skipped and counted', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, consumers: [INGEST_CONSUMER] });
    const store = await openStore(dir);
    const log = memoryLogger();
    for (let seq = 1; seq <= 10; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    await spool.append({ deviceId: 'dev-2', payload: Buffer.from('{not json'), receivedAt: T0 });
    const pipeline = new IngestPipeline({ spool, store, log, now: () => T0, wait: async () => true }, { maxRecords: 4, maxWaitMs: 1 });
    pipelines.push(pipeline);
    pipeline.start();

    await eventually(() => spool.committed(INGEST_CONSUMER) === spool.stats().lastSeq);
    const stored = await store.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 });
    expect(stored.map((point) => point.value)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(pipeline.stats()).toMatchObject({ records: 11, points: 20, undecodable: 1, retries: 0 });
    expect(log.lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(['ingest: a spooled batch does not decode; skipped']);
    expect(pipeline.ready()).toBe('ok');
  });

  it('hands a store in its own thread the entries as bytes: every sample stored, an undecodable record counted once, nothing lost when the thread dies', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, consumers: [INGEST_CONSUMER] });
    const store = (await openTelemetryStore({ embeddedFile: path.join(dir, 'telemetry.sqlite'), retentionDays: 3650, deadLetterFile: path.join(dir, 'dead-letters.jsonl'), thread: 'worker' })) as WorkerTelemetryStore;
    workerStores.push(store);
    const log = memoryLogger();
    for (let seq = 1; seq <= 10; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    await spool.append({ deviceId: 'dev-2', payload: Buffer.from('{not json'), receivedAt: T0 });
    // Nothing is remembered for ingest: the store's thread parses the bytes itself.
    const records = new TelemetryRecords({ consumers: 1 });
    const pipeline = new IngestPipeline({ spool, records, store, log, now: () => T0, wait: (ms) => delay(ms, true) }, { maxRecords: 4, maxWaitMs: 1, retryMinMs: 1, retryMaxMs: 5 });
    pipelines.push(pipeline);
    pipeline.start();
    await eventually(() => spool.committed(INGEST_CONSUMER) === spool.stats().lastSeq);
    expect(pipeline.stats()).toMatchObject({ records: 11, points: 20, undecodable: 1 });
    expect(records.stats()).toMatchObject({ shared: 0, parsed: 0 });

    // The thread dies while more records arrive: ingest retries (a new thread reopens the store) and stores them all.
    await store.terminateThread();
    for (let seq = 11; seq <= 20; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    await eventually(() => spool.committed(INGEST_CONSUMER) === spool.stats().lastSeq);
    const stored = await store.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 });
    expect(stored.map((point) => point.value)).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    expect(pipeline.stats()).toMatchObject({ records: 21, points: 40, undecodable: 1 });
    expect(log.lines.filter((line) => line.level === 'error').map((line) => line.message)).toEqual(['ingest: a spooled batch does not decode; skipped']);
  });

  it('writes a read to the embedded store in transactions of embeddedWritePoints, with the event loop free between them', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, consumers: [INGEST_CONSUMER] });
    const store = await openStore(dir);
    const calls: number[] = [];
    let turns = 0;
    const ticker = setInterval(() => (turns += 1), 0);
    const counting = Object.create(store, {
      write: {
        value: async (...args: Parameters<TelemetryStore['write']>) => {
          calls.push(turns);
          return store.write(...args);
        },
      },
      sync: { value: () => store.sync() },
    }) as TelemetryStore;
    for (let seq = 1; seq <= 10; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    const pipeline = new IngestPipeline({ spool, store: counting, log: memoryLogger(), now: () => T0, wait: async () => true }, { maxRecords: 10, maxWaitMs: 50, embeddedWritePoints: 6 });
    pipelines.push(pipeline);
    pipeline.start();
    try {
      await eventually(() => spool.committed(INGEST_CONSUMER) === spool.stats().lastSeq);
    } finally {
      clearInterval(ticker);
    }
    const stored = await store.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 });
    expect(stored).toHaveLength(20);
    // 20 points in writes of at most 6 (one read of 10 batches, or a few reads): more writes than reads.
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(pipeline.stats()).toMatchObject({ records: 10, points: 20 });
    // Timers ran between the writes of one read (setImmediate yields the loop).
    expect(new Set(calls).size).toBeGreaterThan(1);
  });

  it("moves the cursor only after the store's sync made the writes durable (the spool keeps the records until then)", async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, consumers: [INGEST_CONSUMER] });
    const store = await openStore(dir);
    const events: string[] = [];
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const syncing = Object.create(store, {
      write: { value: async (...args: Parameters<TelemetryStore['write']>) => { const result = await store.write(...args); events.push('write'); return result; } },
      sync: { value: async () => { events.push('sync'); await held; await store.sync(); events.push('synced'); } },
    }) as TelemetryStore;
    for (let seq = 1; seq <= 4; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    const pipeline = new IngestPipeline({ spool, store: syncing, log: memoryLogger(), now: () => T0, wait: async () => true }, { maxRecords: 4, maxWaitMs: 1 });
    pipelines.push(pipeline);
    pipeline.start();

    await eventually(() => events.includes('sync'));
    // Written and confirmed, but not yet durable: the cursor has not moved.
    expect((await store.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 })).length).toBe(8);
    await delay(50);
    expect(spool.committed(INGEST_CONSUMER)).toBe(0);
    release?.();
    await eventually(() => spool.committed(INGEST_CONSUMER) === 4);
    expect(events).toEqual(['write', 'sync', 'synced']);
  });

  it('the embedded store syncs its WAL after writes, and answers a sync with no WAL or after close', async () => {
    const dir = await kit.tempDir();
    const store = await openStore(dir);
    await expect(store.sync(), 'no write yet').resolves.toBeUndefined();
    await store.write([{ deviceId: 'dev-1', ts: T0, metrics: { temp: 1 } }]);
    expect(existsSync(path.join(dir, 'telemetry.sqlite-wal')), 'a WAL to sync').toBe(true);
    await expect(store.sync(), 'after a write').resolves.toBeUndefined();
    await store.close();
    await expect(store.sync(), 'after close').resolves.toBeUndefined();
    const memory = openSqliteTelemetryStore({ file: ':memory:', retentionDays: 1, deadLetterFile: path.join(dir, 'x.jsonl'), retentionIntervalMs: 0 });
    stores.push(memory);
    await expect(memory.sync(), ':memory:').resolves.toBeUndefined();
  });

  it('keeps the records in the spool while the store fails, retries, and drains them once it writes again', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, consumers: [INGEST_CONSUMER] });
    const real = await openStore(dir);
    const flaky = switchable(real);
    const records = new TelemetryRecords({ consumers: 1 });
    const pipeline = new IngestPipeline({ spool, records, store: flaky.store, log: memoryLogger(), now: () => Date.now(), wait: (ms) => delay(ms, true) }, { maxWaitMs: 1, retryMinMs: 1, retryMaxMs: 5 });
    pipelines.push(pipeline);
    for (let seq = 1; seq <= 3; seq += 1) await spool.append({ deviceId: 'dev-1', payload: batch(seq), receivedAt: T0 });
    pipeline.start();

    await eventually(() => pipeline.stats().retries >= 3);
    expect(pipeline.ready()).toBe('degraded');
    expect(pipeline.stats().failingSince).toBeTypeOf('number');
    expect(spool.committed(INGEST_CONSUMER)).toBe(0);
    expect(await real.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 })).toEqual([]);

    flaky.failing = false;
    await eventually(() => spool.committed(INGEST_CONSUMER) === 3);
    expect(await real.raw({ deviceIds: ['dev-1'], metric: 'temp', from: T0, to: T0 + 60_000 })).toHaveLength(6);
    expect(pipeline.ready()).toBe('ok');
  });
});
