import { afterEach, describe, expect, it } from 'vitest';
import type { SpoolEntry } from '../../src/spool/index.js';
import { batchPayload, eventually, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

/** What a reader sees of an entry (the payload as text). */
const view = (entry: SpoolEntry): unknown => ({ seq: entry.seq, deviceId: entry.deviceId, receivedAt: entry.receivedAt, payload: entry.payload.toString('utf8') });

describe('spool tail cache', () => {
  it('hands a reader that keeps up the records from memory, the same a reader of the files gets after a reopen', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir });
    // Device ids of several UTF-8 lengths: the payload starts after the id's bytes, not chars.
    const devices = ['pi-01', 'gerät-ß-7', 'x'.repeat(40)];
    for (let n = 0; n < 60; n += 1) await spool.append({ deviceId: devices[n % 3] as string, payload: batchPayload(n, n * 7), receivedAt: 1_700_000_000_000 + n });
    const fromMemory = await readEntries(spool, 'ingest', 60);
    expect(spool.stats().readFromMemory).toBe(60);
    await spool.close();

    const reopened = await kit.open({ dir });
    const fromFiles = await readEntries(reopened, 'ingest', 60);
    expect(reopened.stats().readFromMemory).toBe(0);
    expect(fromMemory.map(view)).toEqual(fromFiles.map(view));
    expect(fromFiles.map((entry) => entry.seq)).toEqual(Array.from({ length: 60 }, (_, n) => n + 1));
    expect(fromFiles[1]?.deviceId).toBe('gerät-ß-7');
  });

  it('lets a reader behind the cache read the files, then the cache, every record once and in order', async () => {
    const dir = await kit.tempDir();
    // About 5 records of ~1 KiB fit: the first 95 have left memory when the reader starts.
    const spool = await kit.open({ dir, tailCacheBytes: 5 * 1100 });
    for (let n = 0; n < 100; n += 1) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n, 1000) });
    const read = readEntries(spool, 'alerts', 130);
    for (let n = 100; n < 130; n += 1) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n, 1000) });
    const entries = await read;
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 130 }, (_, n) => n + 1));
    expect(entries.map((entry) => JSON.parse(entry.payload.toString('utf8')).seq)).toEqual(Array.from({ length: 130 }, (_, n) => n));
    const { readFromMemory } = spool.stats();
    expect(readFromMemory).toBeGreaterThan(0);
    expect(readFromMemory).toBeLessThanOrEqual(35);
  });

  it('lets go of the records every consumer has been handed: a reader starting over reads them from the files', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    const got = { ingest: 0, alerts: 0 };
    const readers = (['ingest', 'alerts'] as const).map((consumer) => spool.readBatches(consumer).subscribe((batch) => (got[consumer] += batch.length)));
    for (let n = 0; n < 20; n += 1) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n) });
    await eventually(() => got.ingest === 20 && got.alerts === 20);
    expect(spool.stats().readFromMemory).toBe(40);
    // Nothing was committed: a second ingest reader starts at the cursor, behind what memory still holds.
    const again = await readEntries(spool, 'ingest', 20);
    expect(again.map((entry) => entry.seq)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(spool.stats().readFromMemory).toBe(40);
    // Caught up, the live readers keep taking new records from memory.
    await spool.append({ deviceId: 'pi-01', payload: batchPayload(20) });
    await eventually(() => got.ingest === 21 && got.alerts === 21);
    expect(spool.stats().readFromMemory).toBe(42);
    for (const reader of readers) reader.unsubscribe();
  });

  it('keeps the records a consumer with no open reader has not been handed', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    let ingested = 0;
    const reader = spool.readBatches('ingest').subscribe((batch) => (ingested += batch.length));
    for (let n = 0; n < 20; n += 1) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n) });
    await eventually(() => ingested === 20);
    const alerts = await readEntries(spool, 'alerts', 20);
    expect(alerts.map((entry) => entry.seq)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(spool.stats().readFromMemory).toBe(40);
    reader.unsubscribe();
  });

  it('reads every record from the files with tailCacheBytes 0', async () => {
    const spool = await kit.open({ dir: await kit.tempDir(), tailCacheBytes: 0 });
    for (let n = 0; n < 20; n += 1) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n) });
    expect((await readEntries(spool, 'ingest', 20)).map((entry) => entry.seq)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(spool.stats().readFromMemory).toBe(0);
  });

  it('refuses a tailCacheBytes that is not a whole number of bytes', async () => {
    await expect(kit.open({ dir: await kit.tempDir(), tailCacheBytes: -1 })).rejects.toMatchObject({
      code: 'SPOOL_OPTIONS_INVALID',
      message: expect.stringContaining('tailCacheBytes must be a whole number of bytes ≥ 0') as unknown,
    });
  });
});
