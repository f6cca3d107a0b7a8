import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OutpostError } from '@outpost/protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SpoolEntry } from '../../src/spool/spool-types.js';
import { openTelemetryStore } from '../../src/store/open-store.js';
import { isRetryableStoreError, TELEMETRY_QUERY_INVALID } from '../../src/store/store-errors.js';
import { packEntries, unpackEntries, type WorkerTelemetryStore } from '../../src/store/worker-store.js';
import { telemetryStoreContract, type OpenedStore } from '../contract/telemetry-store-contract.js';
import { startInfluxd, waitFor } from './influxd-service.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'outpost-telemetry-worker-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function optionsIn(dir?: string) {
  const at = dir ?? (await tempDir());
  return {
    embeddedFile: path.join(at, 'telemetry.sqlite'),
    deadLetterFile: path.join(at, 'dead-letters', 'telemetry.jsonl'),
    retentionDays: 30,
    thread: 'worker' as const,
  };
}

// The same contract as the store in the caller's thread: every query, error and replay
// behaves alike when the store answers from its own thread.
telemetryStoreContract('embedded SQLite in its own thread', {
  async fresh(): Promise<OpenedStore> {
    const options = await optionsIn();
    return { store: await openTelemetryStore(options), deadLetterFile: options.deadLetterFile, reopen: () => openTelemetryStore(options) };
  },
});

const T = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

function entry(seq: number, deviceId: string, payload: string | Buffer): SpoolEntry {
  return { seq, deviceId, receivedAt: T, payload: typeof payload === 'string' ? Buffer.from(payload) : payload };
}

function batch(samples: { ts: number; metrics: Record<string, unknown>; tags?: Record<string, string> }[]): string {
  return JSON.stringify({ samples });
}

describe('telemetry store in its own thread', () => {
  const opened: WorkerTelemetryStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });

  async function open(dir?: string): Promise<WorkerTelemetryStore> {
    const store = (await openTelemetryStore(await optionsIn(dir))) as WorkerTelemetryStore;
    opened.push(store);
    return store;
  }

  it('packs entries into one buffer and back, payloads of any size and pooled Buffers included', () => {
    // A pooled Buffer (a view into a shared 8 KiB slab) must be copied, never transferred whole.
    const pooled = Buffer.from('{"samples":[]}');
    const big = Buffer.alloc(10_000, 0x41);
    const entries = [entry(7, 'dev-ä', pooled), entry(8, 'dev-b', Buffer.alloc(0)), entry(9, 'dev-c', big)];
    const { packed, transfer } = packEntries(entries);
    expect(transfer).toEqual([packed.bytes]);
    expect(packed.bytes.byteLength).toBe(pooled.length + big.length);
    const back = unpackEntries(packed);
    expect(back.map((e) => [e.seq, e.deviceId, e.receivedAt, e.payload.toString('latin1')])).toEqual(entries.map((e) => [e.seq, e.deviceId, e.receivedAt, e.payload.toString('latin1')]));
    expect(pooled.buffer.byteLength).toBeGreaterThan(0);
  });

  it('decodes and writes spool entries in its thread, reporting the undecodable ones', async () => {
    const store = await open();
    const result = await store.writeEntries([
      entry(1, 'dev-a', batch([{ ts: T, metrics: { temp: 21.5, on: true } }, { ts: T + 1_000, metrics: { temp: 22 } }])),
      entry(2, 'dev-b', 'not json'),
      entry(3, 'dev-b', batch([{ ts: T, metrics: { temp: 5 }, tags: { probe: 'left' } }])),
      entry(4, 'dev-c', '{"no":"samples"}'),
    ], 1_000);
    expect(result.points).toBe(3);
    expect(result.written).toBe(3);
    expect(result.deadLettered).toBe(0);
    expect(result.unreadable.map((u) => [u.seq, u.deviceId])).toEqual([
      [2, 'dev-b'],
      [4, 'dev-c'],
    ]);
    expect(result.unreadable[0]?.reason).toMatch(/not JSON/);
    expect(await store.latest('dev-a')).toEqual({ temp: { ts: T + 1_000, value: 22 }, on: { ts: T, value: true } });
    expect(await store.raw({ metric: 'temp', deviceIds: ['dev-b'], from: T, to: T + 60_000 })).toEqual([{ deviceId: 'dev-b', ts: T, value: 5 }]);
    expect(store.stats()).toMatchObject({ pointsWritten: 3, inFlight: 0 });
    expect(await store.writeEntries([], 1_000)).toEqual({ written: 0, deadLettered: 0, points: 0, unreadable: [] });
  });

  it('writes a read larger than one transaction in chunks, every value kept', async () => {
    const store = await open();
    const entries = Array.from({ length: 300 }, (_, k) =>
      entry(k + 1, `dev-${String(k % 7)}`, batch(Array.from({ length: 5 }, (_, j) => ({ ts: T + k * 5_000 + j * 1_000, metrics: { temp: k * 10 + j } })))),
    );
    const result = await store.writeEntries(entries, 1_000);
    expect(result).toMatchObject({ points: 1_500, written: 1_500, unreadable: [] });
    expect(await store.raw({ metric: 'temp', from: T, to: T + 3_600_000, limit: 10_000 })).toHaveLength(1_500);
  });

  it('refuses as the store does: the same coded errors cross the thread', async () => {
    const store = await open();
    const refused = await store.range({ deviceId: 'dev-a', metric: 'temp', from: T, to: T - 1, everyMs: 60_000, fn: 'mean' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OutpostError);
    expect((refused as OutpostError).code).toBe(TELEMETRY_QUERY_INVALID);
    await store.close();
    const closed = await store.write([{ deviceId: 'dev-a', ts: T, metrics: { temp: 1 } }]).catch((e: unknown) => e);
    expect(isRetryableStoreError(closed)).toBe(true);
    expect(await store.ping()).toBe(false);
  });

  it('survives its thread dying: calls in flight are retryable, the next call reopens the store with the data it had', async () => {
    const store = await open();
    await store.write([{ deviceId: 'dev-a', ts: T, metrics: { temp: 1 } }]);
    const inFlight = store.write([{ deviceId: 'dev-a', ts: T + 1_000, metrics: { temp: 2 } }]).catch((e: unknown) => e);
    await store.terminateThread();
    const outcome = await inFlight;
    // Either the write made it before the thread ended, or it failed retryably: never silently lost.
    if (outcome instanceof Error) expect(isRetryableStoreError(outcome)).toBe(true);
    else expect(outcome).toEqual({ written: 1, deadLettered: 0 });
    expect((await store.latest('dev-a')).temp?.ts).toBe(outcome instanceof Error ? T : T + 1_000);
    await store.write([{ deviceId: 'dev-a', ts: T + 2_000, metrics: { temp: 3 } }]);
    expect(await store.latest('dev-a')).toEqual({ temp: { ts: T + 2_000, value: 3 } });
  });

  it('fails to open as the store would, with its reason', async () => {
    const dir = await tempDir();
    const options = await optionsIn(dir);
    // A directory where the SQLite file should be: the store cannot open it.
    await import('node:fs/promises').then((fs) => fs.mkdir(options.embeddedFile, { recursive: true }));
    await expect(openTelemetryStore(options)).rejects.toThrow(/directory|unable to open|SQLITE/i);
  });

  it('refuses a virtual clock: its thread keeps real time', async () => {
    const options = await optionsIn();
    await expect(openTelemetryStore({ ...options, clock: { now: () => 0 } })).rejects.toThrow(/real time/);
  });

  it('posts its counters between answers: the InfluxDB rollup moves on its own', async () => {
    const influx = await startInfluxd();
    try {
      const dir = await tempDir();
      const store = (await openTelemetryStore({
        influx: { url: influx.url, api: 'v1', db: 'worker_rollup', rollup: { intervalMs: 1_000, settleMs: 0 } },
        embeddedFile: path.join(dir, 'unused.sqlite'),
        deadLetterFile: path.join(dir, 'dead.jsonl'),
        retentionDays: 30,
        thread: 'worker',
        statsEveryMs: 100,
      })) as WorkerTelemetryStore;
      try {
        await waitFor(() => store.stats().rollup?.coveredTo, { description: 'the rollup watermark', timeoutMs: 10_000, intervalMs: 50 });
        // A minute well below the watermark: its write notes it, and its recompute (from the write's tally) runs after the write answered.
        const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
        await store.write(Array.from({ length: 60 }, (_, i) => ({ deviceId: 'dev-worker', ts: minute + i * 1_000, metrics: { temp: i } })));
        expect(await waitFor(() => (store.stats().rollup?.talliedMinutes ?? 0) >= 1 || undefined, { description: 'the tallied minute in the counters', timeoutMs: 10_000, intervalMs: 50 })).toBe(true);
      } finally {
        await store.close();
      }
    } finally {
      await influx.stop();
    }
  }, 60_000);

  it('forwards its log lines to the caller', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    const log = { info: (_: object, m: string) => lines.push(m), warn: (_: object, m: string) => lines.push(m), error: (_: object, m: string) => lines.push(m) };
    const store = (await openTelemetryStore({ ...(await optionsIn(dir)), log })) as WorkerTelemetryStore;
    opened.push(store);
    expect(lines).toContain('telemetry store open');
    // A value of the wrong type for a known metric is dead-lettered in the store's thread.
    await store.write([{ deviceId: 'dev-a', ts: T, metrics: { temp: 1 } }]);
    const result = await store.write([{ deviceId: 'dev-a', ts: T + 1_000, metrics: { temp: 'hot' } }]);
    expect(result.deadLettered).toBe(1);
    await store.close();
    expect(await readFile(path.join(dir, 'dead-letters', 'telemetry.jsonl'), 'utf8')).toContain('hot');
  });
});
