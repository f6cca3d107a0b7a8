import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Spool } from '../../src/spool/index.js';
import { batchPayload, eventually, memoryLogger, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

/** ~540 bytes on disk per record: 7 fit a 4 KiB segment. */
const PAD = 430;

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
}

async function appendSequentially(spool: Spool, from: number, count: number): Promise<number> {
  let last = 0;
  for (let n = from; n < from + count; n += 1) last = (await spool.append({ deviceId: 'pi-01', payload: batchPayload(n, PAD) })).seq;
  return last;
}

describe('spool segments', () => {
  it('rolls segments, reads across them, and names each by its first seq', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, maxBytes: 64 * 1024, segmentBytes: 4096 });
    const live = readEntries(spool, 'ingest', 30);
    await appendSequentially(spool, 0, 30);
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files[0]).toBe('00000000000000000001.seg');
    expect(spool.stats().segments).toBe(files.length);
    expect((await live).map(payloadText)).toEqual(Array.from({ length: 30 }, (_, n) => batchPayload(n, PAD)));
    expect((await readEntries(spool, 'alerts', 30)).map((entry) => entry.seq)).toEqual(Array.from({ length: 30 }, (_, n) => n + 1));
  });

  it('deletes a segment only once every consumer has committed past it', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, maxBytes: 64 * 1024, segmentBytes: 4096 });
    const last = await appendSequentially(spool, 0, 30);
    const before = await segmentFiles(dir);

    await spool.commit('ingest', last);
    expect(await segmentFiles(dir)).toEqual(before);

    await spool.commit('alerts', 10);
    const after = await segmentFiles(dir);
    const bases = after.map((name) => Number(name.slice(0, 20)));
    expect(after.length).toBeLessThan(before.length);
    // The oldest segment left still holds seq 11 (or starts right after it).
    expect(bases[0]).toBeLessThanOrEqual(11);
    expect(spool.stats().firstSeq).toBe(bases[0]);
    expect((await readEntries(spool, 'alerts', 1)).map((entry) => entry.seq)).toEqual([11]);

    await spool.commit('alerts', last);
    expect(await segmentFiles(dir)).toHaveLength(1);
    expect(spool.stats().bytes).toBeLessThanOrEqual(4096);
  });

  it('refuses appends at maxBytes with a temporary coded error, and accepts again once consumers catch up', async () => {
    const log = memoryLogger();
    const spool = await kit.open({ dir: await kit.tempDir(), maxBytes: 16 * 1024, segmentBytes: 4096 }, { log });
    let refused: unknown;
    let accepted = 0;
    while (refused === undefined) {
      await spool.append({ deviceId: 'pi-01', payload: batchPayload(accepted, PAD) }).then(
        () => (accepted += 1),
        (error: unknown) => (refused = error),
      );
    }
    expect(refused).toMatchObject({ code: 'SPOOL_FULL_UNAVAILABLE', status: 503 });
    const full = spool.stats();
    expect(full.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(full).toMatchObject({ nearFull: true, refusedFull: 1, appends: accepted });
    expect(full.consumers.ingest?.depthRecords).toBe(accepted);
    expect(full.consumers.ingest?.depthBytes).toBe(full.bytes);
    expect(log.lines.map((line) => line.level)).toEqual(['warn', 'error']);
    await expect(spool.append({ deviceId: 'pi-01', payload: batchPayload(accepted, PAD) })).rejects.toMatchObject({ code: 'SPOOL_FULL_UNAVAILABLE' });

    // The store is back: ingest drains, alerts catch up, the segments go, appends are accepted.
    const drained = await readEntries(spool, 'ingest', accepted);
    await spool.commit('ingest', drained.at(-1)?.seq ?? 0);
    expect(spool.stats().nearFull).toBe(true);
    await spool.commit('alerts', drained.at(-1)?.seq ?? 0);
    expect(spool.stats()).toMatchObject({ nearFull: false, segments: 1 });
    expect(await spool.append({ deviceId: 'pi-01', payload: 'after' })).toEqual({ seq: accepted + 1 });
    expect(log.lines.at(-1)?.message).toMatch(/accepting telemetry again/);
  });

  it('keeps a reader going when the segment under it is reclaimed', async () => {
    const spool = await kit.open({ dir: await kit.tempDir(), maxBytes: 64 * 1024, segmentBytes: 4096 });
    const last = await appendSequentially(spool, 0, 20);
    const seen: number[] = [];
    const subscription = spool.readBatches('ingest', { maxRecords: 3, maxUncommitted: 3 }).subscribe((batch) => {
      seen.push(...batch.map((entry) => entry.seq));
    });
    await eventually(() => seen.length === 3);
    // Both consumers jump ahead (e.g. an operator skipped a backlog): the reader's segment goes.
    await spool.commit('alerts', last);
    await spool.commit('ingest', last);
    expect(spool.stats().segments).toBe(1);
    const { seq } = await spool.append({ deviceId: 'pi-01', payload: 'after' });
    await eventually(() => seen.includes(seq));
    subscription.unsubscribe();
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('reports each consumer lag in records, bytes and age', async () => {
    let now = 1_700_000_000_000;
    const spool = await kit.open({ dir: await kit.tempDir() }, { clock: { now: () => (now += 1000) } });
    await appendSequentially(spool, 0, 10);
    await spool.commit('alerts', 4);
    const { consumers, bytes } = spool.stats();
    expect(consumers.ingest).toEqual({ committedSeq: 0, depthRecords: 10, depthBytes: bytes, oldestUnconsumedAt: 1_700_000_001_000 });
    expect(consumers.alerts).toMatchObject({ committedSeq: 4, depthRecords: 6, oldestUnconsumedAt: 1_700_000_005_000 });
    expect(consumers.alerts?.depthBytes).toBeGreaterThan(bytes / 2);
    expect(consumers.alerts?.depthBytes).toBeLessThan(bytes);
  });
});
