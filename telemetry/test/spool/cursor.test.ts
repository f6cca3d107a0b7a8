import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Spool, SpoolEntry } from '../../src/spool/index.js';
import { batchPayload, eventually, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

async function appendMany(spool: Spool, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(from + n) })));
}

describe('spool cursors', () => {
  it('resumes exactly after the committed seq when reopened', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir });
    await appendMany(first, 0, 10);
    const read = await readEntries(first, 'ingest', 7);
    await first.commit('ingest', read[6]?.seq ?? 0);
    await first.close();
    expect(JSON.parse(await readFile(path.join(dir, 'cursors', 'ingest'), 'utf8'))).toEqual({ v: 1, consumer: 'ingest', seq: 7 });

    const second = await kit.open({ dir });
    expect(second.committed('ingest')).toBe(7);
    const resumed = await readEntries(second, 'ingest', 3);
    expect(resumed.map((entry) => entry.seq)).toEqual([8, 9, 10]);
    expect(resumed.map(payloadText)).toEqual([7, 8, 9].map((n) => batchPayload(n)));
  });

  it('overwrites its cursor file in place at a fixed size, and reads a cursor file of the older unpadded format', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir });
    await appendMany(first, 0, 12);
    await first.close();
    const file = path.join(dir, 'cursors', 'ingest');
    await writeFile(file, `${JSON.stringify({ v: 1, consumer: 'ingest', seq: 3 })}\n`);

    const second = await kit.open({ dir });
    expect(second.committed('ingest')).toBe(3);
    const before = await stat(file);
    for (const seq of [4, 9, 10]) await second.commit('ingest', seq);
    const after = await stat(file);
    expect(after.size).toBe(128);
    // The first commit replaced the file; the later ones wrote into the same inode.
    expect(after.ino).not.toBe(before.ino);
    await second.commit('ingest', 11);
    expect((await stat(file)).ino).toBe(after.ino);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ v: 1, consumer: 'ingest', seq: 11 });
    await second.close();

    const third = await kit.open({ dir });
    expect(third.committed('ingest')).toBe(11);
    expect((await readEntries(third, 'ingest', 1)).map((entry) => entry.seq)).toEqual([12]);
  });

  it('writes a consumer\'s cursor file at most once per cursorSyncMs: commits made meanwhile go together, and readers do not wait for it', async () => {
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, cursorSyncMs: 1_000 });
    await appendMany(spool, 0, 12);
    const file = path.join(dir, 'cursors', 'ingest');
    await spool.commit('ingest', 1);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ seq: 1 });
    let resolved = 0;
    const later = [2, 3, 4].map((seq) => spool.commit('ingest', seq).then(() => (resolved += 1)));
    // The commits count at once (a reader starts after 4; backpressure counts from there) ...
    expect(spool.committed('ingest')).toBe(4);
    expect((await readEntries(spool, 'ingest', 2)).map((entry) => entry.seq)).toEqual([5, 6]);
    // ... while the file still says 1 and no commit has resolved.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ seq: 1 });
    expect(resolved).toBe(0);
    await Promise.all(later);
    expect(resolved).toBe(3);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ seq: 4 });
    // close() writes what was committed last.
    void spool.commit('ingest', 9);
    await spool.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ seq: 9 });
  });

  it('redelivers what was read but not committed (at least once)', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await appendMany(spool, 0, 5);
    await readEntries(spool, 'ingest', 5);
    await spool.commit('ingest', 2);
    expect((await readEntries(spool, 'ingest', 3)).map((entry) => entry.seq)).toEqual([3, 4, 5]);
  });

  it('keeps the consumers independent', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir });
    await appendMany(first, 0, 6);
    await first.commit('ingest', 5);
    await first.commit('alerts', 2);
    expect(first.stats().consumers).toMatchObject({ ingest: { depthRecords: 1 }, alerts: { depthRecords: 4 } });
    await first.close();

    const second = await kit.open({ dir });
    expect((await readEntries(second, 'ingest', 1)).map((entry) => entry.seq)).toEqual([6]);
    expect((await readEntries(second, 'alerts', 4)).map((entry) => entry.seq)).toEqual([3, 4, 5, 6]);
  });

  it('refuses a commit beyond the durable end and ignores one that goes back', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await appendMany(spool, 0, 3);
    await expect(spool.commit('ingest', 4)).rejects.toMatchObject({ code: 'SPOOL_CURSOR_INVALID', status: 400 });
    await expect(spool.commit('ingest', 1.5)).rejects.toMatchObject({ code: 'SPOOL_CURSOR_INVALID' });
    await spool.commit('ingest', 3);
    await spool.commit('ingest', 1);
    expect(spool.committed('ingest')).toBe(3);
  });

  it('serves batches of at most maxRecords, and waits maxWaitMs to fill a partial one', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await appendMany(spool, 0, 25);
    const backlog = await firstValueFrom(spool.readBatches('ingest', { maxRecords: 10 }).pipe(take(3), toArray()));
    expect(backlog.map((batch) => batch.length)).toEqual([10, 10, 5]);

    const batches: (readonly SpoolEntry[])[] = [];
    const subscription = spool.readBatches('alerts', { maxRecords: 100, maxWaitMs: 300 }).subscribe((batch) => batches.push(batch));
    await eventually(() => batches.length === 1);
    await spool.commit('alerts', 25);
    const started = Date.now();
    await spool.append({ deviceId: 'pi-01', payload: 'late-1' });
    await spool.append({ deviceId: 'pi-01', payload: 'late-2' });
    await eventually(() => batches.length === 2);
    subscription.unsubscribe();
    expect(batches[1]?.map(payloadText)).toEqual(['late-1', 'late-2']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('pauses a consumer at maxUncommitted until it commits (backpressure)', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await appendMany(spool, 0, 30);
    const batches: (readonly SpoolEntry[])[] = [];
    const subscription = spool
      .readBatches('ingest', { maxRecords: 5, maxUncommitted: 10 })
      .subscribe((batch) => batches.push(batch));
    await eventually(() => batches.length === 2);
    // Nothing more arrives until the consumer confirms what it has (a short fixed wait on purpose:
    // it proves that nothing happens, which no poll can show).
    await spool.append({ deviceId: 'pi-01', payload: 'nudge' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toHaveLength(2);
    await spool.commit('ingest', batches[0]?.at(-1)?.seq ?? 0);
    await eventually(() => batches.length === 3);
    subscription.unsubscribe();
    expect(batches.flat().map((entry) => entry.seq)).toEqual(Array.from({ length: 15 }, (_, n) => n + 1));
  });
});
