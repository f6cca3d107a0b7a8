import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FsyncPolicy } from '../../src/outbox/index.js';
import { decode, memoryLog, OutboxKit, peekAll, samples } from './outbox-kit.js';

const kit = new OutboxKit();
afterEach(() => kit.cleanup());

describe('outbox', () => {
  it.each<FsyncPolicy>(['always', 'batch', 'none'])('replays appends in seq order with their payload and time (fsync %s)', async (fsync) => {
    let now = 1_000;
    const outbox = await kit.open({ dir: await kit.tempDir(), fsync, groupCommitMs: 2, clock: { now: () => now++ } });
    const entries = await Promise.all([1, 2, 3, 4, 5].map((n) => outbox.append(samples(n))));
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    const peeked = await peekAll(outbox);
    expect(peeked.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const [index, entry] of peeked.entries()) {
      expect(decode(entry)).toEqual({ v: 1, seq: entry.seq, samples: samples(index + 1) });
      expect(entry.createdAt).toBe(entries[index]?.createdAt);
      expect(entry.payload.equals(entries[index]?.payload ?? Buffer.alloc(0))).toBe(true);
    }
    expect(outbox.stats()).toMatchObject({ depth: 5, appended: 5, acked: 0, dropped: 0, refused: 0, truncatedBytes: 0 });
  });

  it('peeks at most max entries and at most maxBytes of payload, without removing them', async () => {
    const outbox = await kit.open({ dir: await kit.tempDir() });
    for (let n = 1; n <= 4; n += 1) await outbox.append(samples(n));
    expect((await outbox.peek(2)).map((entry) => entry.seq)).toEqual([1, 2]);
    const size = (await outbox.peek(1))[0]?.payload.length ?? 0;
    expect((await outbox.peek(10, size * 3 - 1)).map((entry) => entry.seq)).toEqual([1, 2]);
    expect(await outbox.peek(10, size - 1)).toEqual([]);
    expect(await outbox.peek(0)).toEqual([]);
    expect(await peekAll(outbox)).toHaveLength(4);
  });

  it('removes an acked entry for good; acking twice or an unknown seq changes nothing', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir });
    for (let n = 1; n <= 3; n += 1) await outbox.append(samples(n));
    await outbox.ack(1);
    await outbox.ack(1);
    await outbox.ack(99);
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([2, 3]);
    expect(outbox.stats()).toMatchObject({ depth: 2, acked: 1 });
    await outbox.close();
    const reopened = await kit.open({ dir });
    expect((await peekAll(reopened)).map((entry) => entry.seq)).toEqual([2, 3]);
  });

  it('takes acks out of order (several publishes in flight) and keeps them across a reopen', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir, fsync: 'always' });
    for (let n = 1; n <= 6; n += 1) await outbox.append(samples(n));
    await Promise.all([outbox.ack(5), outbox.ack(2), outbox.ack(3)]);
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([1, 4, 6]);
    await outbox.close();
    const reopened = await kit.open({ dir });
    expect((await peekAll(reopened)).map((entry) => entry.seq)).toEqual([1, 4, 6]);
    expect(reopened.stats().depth).toBe(3);
  });

  it('counts a refused entry, never hands it out again, and remembers the count after a reopen', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    const outbox = await kit.open({ dir, log });
    for (let n = 1; n <= 3; n += 1) await outbox.append(samples(n));
    await outbox.refuse(2, 'NAME_INVALID: metrics.1x');
    await outbox.refuse(2, 'again');
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([1, 3]);
    expect(outbox.stats()).toMatchObject({ refused: 1, depth: 2, acked: 0 });
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', object: { seq: 2, reason: 'NAME_INVALID: metrics.1x' } }));
    await outbox.close();
    const reopened = await kit.open({ dir });
    expect(reopened.stats()).toMatchObject({ refused: 1, depth: 2 });
    expect((await peekAll(reopened)).map((entry) => entry.seq)).toEqual([1, 3]);
  });

  it('continues the seq after a reopen, also when everything was acked', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir, segmentBytes: 512 });
    for (let n = 1; n <= 10; n += 1) await first.append(samples(n, 100));
    for (let seq = 1; seq <= 10; seq += 1) await first.ack(seq);
    await first.close();
    const second = await kit.open({ dir, segmentBytes: 512 });
    expect(second.stats()).toMatchObject({ depth: 0, bytes: 0 });
    expect((await second.append(samples(11))).seq).toBe(11);
    await second.append(samples(12));
    await second.close();
    const third = await kit.open({ dir });
    expect((await peekAll(third)).map((entry) => entry.seq)).toEqual([11, 12]);
    expect((await third.append(samples(13))).seq).toBe(13);
  });

  it('reclaims the space of whole segments once every entry in them is acked', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir, segmentBytes: 1024 });
    for (let n = 1; n <= 30; n += 1) await outbox.append(samples(n, 200));
    const segmentsBefore = (await readdir(dir)).filter((name) => name.endsWith('.seg'));
    expect(segmentsBefore.length).toBeGreaterThan(5);
    const bytesBefore = outbox.stats().bytes;
    // Acked out of order: the space comes back when a segment is wholly done.
    for (let seq = 30; seq >= 1; seq -= 1) if (seq % 2 === 0) await outbox.ack(seq);
    expect(outbox.stats().bytes).toBe(bytesBefore);
    for (let seq = 1; seq <= 29; seq += 2) await outbox.ack(seq);
    const segmentsAfter = (await readdir(dir)).filter((name) => name.endsWith('.seg'));
    expect(segmentsAfter).toHaveLength(1);
    expect(outbox.stats().bytes).toBe((await stat(path.join(dir, segmentsAfter[0] ?? ''))).size);
    expect(outbox.stats()).toMatchObject({ depth: 0, acked: 30 });
  });

  it('drops the oldest entries when the byte bound is reached, and counts them', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    const maxBytes = 8 * 1024;
    const outbox = await kit.open({ dir, maxBytes, segmentBytes: 1024, log });
    const total = 120;
    for (let n = 1; n <= total; n += 1) await outbox.append(samples(n, 150));
    const stats = outbox.stats();
    expect(stats.bytes).toBeLessThanOrEqual(maxBytes);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.dropped + stats.depth).toBe(total);
    const left = (await peekAll(outbox)).map((entry) => decode(entry).samples[0]?.metrics['n']);
    // What is left is the newest, contiguous, in order.
    expect(left).toEqual(Array.from({ length: stats.depth }, (_, i) => total - stats.depth + 1 + i));
    expect(log.lines.some((line) => line.level === 'warn' && line.message.includes('dropped'))).toBe(true);
    await outbox.close();
    const reopened = await kit.open({ dir, maxBytes, segmentBytes: 1024 });
    expect(reopened.stats()).toMatchObject({ dropped: stats.dropped, depth: stats.depth });
  });

  it('does not count entries already acked when their segment is dropped', async () => {
    const outbox = await kit.open({ dir: await kit.tempDir(), maxBytes: 4096, segmentBytes: 1024 });
    const appended = [];
    for (let n = 1; n <= 4; n += 1) appended.push(await outbox.append(samples(n, 150)));
    await outbox.ack(2);
    for (let n = 5; n <= 40; n += 1) await outbox.append(samples(n, 150));
    const stats = outbox.stats();
    expect(stats.dropped + stats.depth + stats.acked).toBe(40);
  });

  it('refuses an empty batch and a batch larger than a quarter of the bound, with coded errors', async () => {
    const outbox = await kit.open({ dir: await kit.tempDir(), maxBytes: 4096 });
    await expect(outbox.append([])).rejects.toMatchObject({ code: 'OUTBOX_BATCH_INVALID' });
    await expect(outbox.append(samples(1, 2000))).rejects.toMatchObject({ code: 'OUTBOX_RECORD_TOO_LARGE', status: 413 });
    // The refused appends used no seq.
    expect((await outbox.append(samples(1))).seq).toBe(1);
  });

  it('refuses bad options with every problem listed', async () => {
    await expect(kit.open({ dir: await kit.tempDir(), maxBytes: 10, groupCommitMs: -1, fsync: 'sometimes' as FsyncPolicy })).rejects.toMatchObject({
      code: 'OUTBOX_OPTIONS_INVALID',
      details: [expect.stringContaining('maxBytes'), expect.stringContaining('groupCommitMs'), expect.stringContaining('fsync')],
    });
  });

  it('refuses a second open of a directory in use, and appends after close', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir });
    await expect(kit.open({ dir })).rejects.toMatchObject({ code: 'OUTBOX_LOCKED' });
    await outbox.close();
    await expect(outbox.append(samples(1))).rejects.toMatchObject({ code: 'OUTBOX_CLOSED' });
    const again = await kit.open({ dir });
    expect(again.stats().depth).toBe(0);
  });

  it('reads entries back from disk when they are not cached', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir, cacheBytes: 0, segmentBytes: 512 });
    for (let n = 1; n <= 8; n += 1) await outbox.append(samples(n, 100));
    const peeked = await peekAll(outbox);
    expect(peeked.map((entry) => decode(entry).samples[0]?.metrics['n'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('compacts its ack journal and keeps every fact that still matters', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir, fsync: 'none', segmentBytes: 4096 });
    const count = 5000;
    for (let n = 1; n <= count; n += 1) void outbox.append(samples(n));
    await outbox.append(samples(count + 1));
    await outbox.refuse(1, 'bad');
    for (let seq = 2; seq <= count; seq += 1) await outbox.ack(seq);
    const journalBytes = (await stat(path.join(dir, 'acks.log'))).size;
    expect(journalBytes).toBeLessThan(count * 24);
    await outbox.close();
    const reopened = await kit.open({ dir });
    expect((await peekAll(reopened)).map((entry) => entry.seq)).toEqual([count + 1]);
    expect(reopened.stats()).toMatchObject({ refused: 1, depth: 1 });
  });
});
