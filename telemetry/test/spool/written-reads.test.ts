import type { FileHandle } from 'node:fs/promises';
import { firstValueFrom, take } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpoolEntry } from '../../src/spool/index.js';
import { batchPayload, eventually, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

/** Holds every fsync until the test lets it go; `fail` makes the next released one throw. */
function heldSync(): { sync: (handle: FileHandle) => Promise<void>; readonly held: number; release(fail?: boolean): void } {
  const held: ((fail: boolean) => void)[] = [];
  return {
    sync: async (handle) => {
      const fail = await new Promise<boolean>((resolve) => held.push(resolve));
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      await handle.datasync();
    },
    get held() {
      return held.length;
    },
    release: (fail = false) => held.splice(0).forEach((resolve) => resolve(fail)),
  };
}

/** A spool whose first append's fsync is held, with a reader of written records collecting what it is handed. */
async function firstFsyncHeld() {
  const disk = heldSync();
  const spool = await kit.open({ dir: await kit.tempDir() }, { sync: disk.sync });
  const eager: SpoolEntry[] = [];
  const subscription = spool.readBatches('alerts', { written: true }).subscribe((batch) => eager.push(...batch));
  const first = spool.append({ deviceId: 'pi-01', payload: batchPayload(0) });
  await eventually(() => disk.held === 1);
  return { disk, spool, eager, subscription, first };
}

describe('spool: readers of written records (SpoolReadOptions.written)', () => {
  it('hands the group out once written, before its fsync; a reader of durable records and the append wait for the fsync', async () => {
    const disk = heldSync();
    const spool = await kit.open({ dir: await kit.tempDir() }, { sync: disk.sync });
    const eager: SpoolEntry[] = [];
    const durable: SpoolEntry[] = [];
    const subscriptions = [
      spool.readBatches('alerts', { written: true }).subscribe((batch) => eager.push(...batch)),
      spool.readBatches('ingest').subscribe((batch) => durable.push(...batch)),
    ];
    const seen: number[] = [];
    let resolved = 0;
    const appends = [0, 1, 2].map((n) =>
      spool.append({ deviceId: 'pi-01', payload: batchPayload(n), onWritten: (seq) => seen.push(seq) }).then(({ seq }) => {
        resolved += 1;
        return seq;
      }),
    );
    await eventually(() => eager.length === 3);
    // Written, not durable: onWritten ran with each seq before any reader had it.
    expect(seen).toEqual([1, 2, 3]);
    expect(eager.map((entry) => [entry.seq, payloadText(entry)])).toEqual([0, 1, 2].map((n) => [n + 1, batchPayload(n)]));
    expect(disk.held).toBe(1);
    expect(resolved).toBe(0);
    expect(durable).toHaveLength(0);
    expect(spool.stats().lastSeq).toBe(0);

    disk.release();
    expect(await Promise.all(appends)).toEqual([1, 2, 3]);
    await eventually(() => durable.length === 3);
    // Each reader had every record once.
    expect(eager.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(durable.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await spool.close();
  });

  it('writes the appends made during an fsync at once: written readers have them while it runs, the next fsync makes them durable', async () => {
    const { disk, spool, eager, subscription, first } = await firstFsyncHeld();
    const during = [1, 2].map((n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n) }));
    await eventually(() => eager.length === 3);
    // Still one fsync out, the first; nothing durable.
    expect(disk.held).toBe(1);
    expect(spool.stats()).toMatchObject({ lastSeq: 0, fsyncs: 0, pendingAppends: 3 });
    disk.release();
    expect((await first).seq).toBe(1);
    await eventually(() => disk.held === 1);
    expect(spool.stats()).toMatchObject({ lastSeq: 1, fsyncs: 1, pendingAppends: 2 });
    disk.release();
    expect((await Promise.all(during)).map((result) => result.seq)).toEqual([2, 3]);
    expect(spool.stats()).toMatchObject({ lastSeq: 3, fsyncs: 2, pendingAppends: 0 });
    expect(eager.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    subscription.unsubscribe();
    await spool.close();
  });

  it('commits a written record once it is durable: the cursor never passes the durable end', async () => {
    const disk = heldSync();
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir }, { sync: disk.sync });
    const reader = firstValueFrom(spool.readBatches('alerts', { written: true }).pipe(take(1)));
    const append = spool.append({ deviceId: 'pi-01', payload: batchPayload(7) });
    const [entry] = await reader;
    expect(entry?.seq).toBe(1);
    let committed = false;
    const commit = spool.commit('alerts', 1).then(() => (committed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(committed).toBe(false);
    expect(spool.committed('alerts')).toBe(0);
    // Beyond what was written is still refused, with the reason.
    await expect(spool.commit('alerts', 2)).rejects.toMatchObject({ code: 'SPOOL_CURSOR_INVALID' });

    disk.release();
    await append;
    await commit;
    expect(spool.committed('alerts')).toBe(1);
    await spool.close();
    const reopened = await kit.open({ dir });
    expect(reopened.committed('alerts')).toBe(1);
    expect(reopened.committed('ingest')).toBe(0);
    await reopened.close();
  });

  it('after a failed fsync: the appends are refused, a commit of their records is refused, nothing hangs', async () => {
    const disk = heldSync();
    const spool = await kit.open({ dir: await kit.tempDir() }, { sync: disk.sync });
    const batches = spool.readBatches('alerts', { written: true });
    const first = firstValueFrom(batches.pipe(take(1)));
    const append = spool.append({ deviceId: 'pi-01', payload: batchPayload(1) });
    const refused = expect(append).rejects.toMatchObject({ code: 'SPOOL_IO_UNAVAILABLE' });
    const [entry] = await first;
    expect(entry?.seq).toBe(1);
    const commit = spool.commit('alerts', 1);
    disk.release(true);
    await refused;
    await expect(commit).rejects.toMatchObject({ code: 'SPOOL_CURSOR_INVALID' });
    expect(spool.committed('alerts')).toBe(0);
    expect(spool.stats()).toMatchObject({ lastSeq: 0, failed: 'SPOOL_IO_UNAVAILABLE' });
    await spool.close();
  });

  it('refuses a group written during an fsync that then fails, with the group that fsync covered', async () => {
    const { disk, spool, eager, subscription, first } = await firstFsyncHeld();
    const during = spool.append({ deviceId: 'pi-01', payload: batchPayload(1) });
    await eventually(() => eager.length === 2);
    const outcomes = Promise.allSettled([first, during]);
    disk.release(true);
    for (const outcome of await outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'SPOOL_IO_UNAVAILABLE' } });
    expect(spool.stats()).toMatchObject({ lastSeq: 0, pendingAppends: 0, failed: 'SPOOL_IO_UNAVAILABLE' });
    subscription.unsubscribe();
    await spool.close();
  });

  it('a reader of written records behind the durable end reads the files first, then the written group, in order', async () => {
    const disk = heldSync();
    const dir = await kit.tempDir();
    const spool = await kit.open({ dir, tailCacheBytes: 0 }, { sync: disk.sync });
    const durable = Array.from({ length: 5 }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n) }));
    await eventually(() => disk.held === 1);
    disk.release();
    await Promise.all(durable);
    const more = Array.from({ length: 3 }, (_, n) => spool.append({ deviceId: 'pi-02', payload: batchPayload(5 + n) }));
    await eventually(() => disk.held === 1);
    const entries: SpoolEntry[] = [];
    const subscription = spool.readBatches('alerts', { written: true, maxRecords: 2 }).subscribe((batch) => entries.push(...batch));
    await eventually(() => entries.length >= 8);
    subscription.unsubscribe();
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(spool.stats().lastSeq).toBe(5);
    disk.release();
    await Promise.all(more);
    // A durable-only reader of the same spool sees the same records once they are durable.
    const again = await readEntries(spool, 'ingest', 8);
    expect(again.map(payloadText)).toEqual(entries.map(payloadText));
    await spool.close();
  });
});
