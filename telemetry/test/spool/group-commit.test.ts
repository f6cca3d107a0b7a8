import type { FileHandle } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { batchPayload, eventually, memoryLogger, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

/** A sync port that holds every fsync until the test releases it. */
function gatedSync(): {
  sync: (handle: FileHandle) => Promise<void>;
  readonly waiting: number;
  releaseAll(): void;
} {
  const held: (() => void)[] = [];
  return {
    sync: async (handle) => {
      await new Promise<void>((resolve) => held.push(resolve));
      await handle.datasync();
    },
    get waiting() {
      return held.length;
    },
    releaseAll: () => held.splice(0).forEach((release) => release()),
  };
}

describe('spool group commit', () => {
  it('lets concurrent appends share fsyncs, each seq in call order', async () => {
    const spool = await kit.open({ dir: await kit.tempDir(), groupCommitMs: 5 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n, 500) })),
    );
    expect(results.map((result) => result.seq)).toEqual(Array.from({ length: 200 }, (_, n) => n + 1));
    const stats = spool.stats();
    expect(stats.appends).toBe(200);
    expect(stats.fsyncs).toBeGreaterThan(0);
    expect(stats.fsyncs).toBeLessThan(20);
  });

  it('resolves no append before the fsync that covers it', async () => {
    const gate = gatedSync();
    const spool = await kit.open({ dir: await kit.tempDir(), groupCommitMs: 1 }, { sync: gate.sync });
    const resolved: number[] = [];
    const appends = Array.from({ length: 10 }, (_, n) =>
      spool.append({ deviceId: 'pi-01', payload: batchPayload(n) }).then(({ seq }) => resolved.push(seq)),
    );
    await eventually(() => gate.waiting === 1);
    // Written, not yet durable: nobody is acknowledged and no reader sees it.
    expect(resolved).toEqual([]);
    expect(spool.stats()).toMatchObject({ lastSeq: 0, pendingAppends: 10, fsyncs: 0 });
    const late = spool.append({ deviceId: 'pi-01', payload: batchPayload(10) }).then(({ seq }) => resolved.push(seq));
    gate.releaseAll();
    await Promise.all(appends);
    expect(resolved).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(spool.stats().fsyncs).toBe(1);
    // The append that arrived during the fsync went into the next group, with its own fsync.
    await eventually(() => gate.waiting === 1);
    expect(resolved).toHaveLength(10);
    gate.releaseAll();
    await late;
    expect(resolved).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(spool.stats().fsyncs).toBe(2);
  });

  it('with groupCommitMs 0 (the default) writes at once: the appends of one turn share an fsync, an append alone has its own', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await Promise.all(Array.from({ length: 20 }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n) })));
    expect(spool.stats()).toMatchObject({ appends: 20, fsyncs: 1 });
    for (let n = 20; n < 25; n++) await spool.append({ deviceId: 'pi-01', payload: batchPayload(n) });
    expect(spool.stats()).toMatchObject({ appends: 25, fsyncs: 6 });
  });

  it('with groupCommitMs 0, appends made during an fsync wait for it and then share the next one', async () => {
    const gate = gatedSync();
    const spool = await kit.open({ dir: await kit.tempDir(), groupCommitMs: 0 }, { sync: gate.sync });
    const first = spool.append({ deviceId: 'pi-01', payload: batchPayload(0) });
    await eventually(() => gate.waiting === 1);
    const during = Array.from({ length: 10 }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n + 1) }));
    // Nothing more is written while the first fsync is out.
    expect(spool.stats()).toMatchObject({ fsyncs: 0, pendingAppends: 11 });
    gate.releaseAll();
    expect((await first).seq).toBe(1);
    await eventually(() => gate.waiting === 1);
    gate.releaseAll();
    expect((await Promise.all(during)).map((result) => result.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(spool.stats()).toMatchObject({ appends: 11, fsyncs: 2 });
  });

  it('refuses the group and every later append after a failed fsync, until reopened', async () => {
    const dir = await kit.tempDir();
    const log = memoryLogger();
    let failing = false;
    const spool = await kit.open(
      { dir, groupCommitMs: 1 },
      {
        log,
        sync: async (handle) => {
          if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          await handle.datasync();
        },
      },
    );
    await spool.append({ deviceId: 'pi-01', payload: 'kept' });
    failing = true;
    const refused = await Promise.allSettled([
      spool.append({ deviceId: 'pi-01', payload: 'lost-1' }),
      spool.append({ deviceId: 'pi-01', payload: 'lost-2' }),
    ]);
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'SPOOL_IO_UNAVAILABLE', status: 503 } });
    }
    await expect(spool.append({ deviceId: 'pi-01', payload: 'after' })).rejects.toMatchObject({ code: 'SPOOL_IO_UNAVAILABLE' });
    expect(spool.stats().failed).toBe('SPOOL_IO_UNAVAILABLE');
    expect(log.lines.some((line) => line.level === 'error')).toBe(true);
    await spool.close();

    // Reopened: the acknowledged record is there; the refused ones may be too (never acknowledged,
    // so the agent resends them and idempotent writes absorb the duplicate).
    const reopened = await kit.open({ dir });
    const { seq } = await reopened.append({ deviceId: 'pi-01', payload: 'next' });
    const entries = await readEntries(reopened, 'ingest', seq);
    expect(entries.map(payloadText)[0]).toBe('kept');
    expect(entries.map(payloadText).at(-1)).toBe('next');
  });

  it('settles every pending append on close: none hangs', async () => {
    const spool = await kit.open({ dir: await kit.tempDir(), groupCommitMs: 50 });
    const appends = Array.from({ length: 30 }, (_, n) => spool.append({ deviceId: 'pi-01', payload: batchPayload(n) }));
    await spool.close();
    const outcomes = await Promise.allSettled(appends);
    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
  });
});
