import { appendFile, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/outbox/record-format.js';
import { decode, memoryLog, OutboxKit, peekAll, samples } from './outbox-kit.js';

const kit = new OutboxKit();
afterEach(() => kit.cleanup());

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort().map((name) => path.join(dir, name));
}

async function lastSegment(dir: string): Promise<string> {
  const files = await segmentFiles(dir);
  const last = files[files.length - 1];
  if (last === undefined) throw new Error('no segment');
  return last;
}

/** An outbox in `dir` holding batches 1..count, closed. */
async function filled(dir: string, count: number, segmentBytes?: number): Promise<void> {
  const outbox = await kit.open({ dir, ...(segmentBytes === undefined ? {} : { segmentBytes }) });
  for (let n = 1; n <= count; n += 1) await outbox.append(samples(n));
  await outbox.close();
}

function aRecord(seq: number): Buffer {
  return encodeRecord(seq, 1, Buffer.from(JSON.stringify({ v: 1, seq, samples: samples(seq) })));
}

describe('outbox recovery', () => {
  it.each([
    ['a record cut inside its header', aRecord(4).subarray(0, 20)],
    ['a record cut inside its payload', aRecord(4).subarray(0, 50)],
    ['garbage', Buffer.from('\u0000\u0007garbage after a power cut\u00ff')],
  ])('cuts a torn tail (%s) and keeps every earlier record', async (_name, tail) => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    await filled(dir, 3);
    const file = await lastSegment(dir);
    const sizeBefore = (await stat(file)).size;
    await appendFile(file, tail);
    const outbox = await kit.open({ dir, log });
    expect((await peekAll(outbox)).map((entry) => decode(entry).samples)).toEqual([samples(1), samples(2), samples(3)]);
    expect(outbox.stats()).toMatchObject({ depth: 3, truncatedBytes: tail.length });
    expect((await stat(file)).size).toBe(sizeBefore);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('torn tail') }));
    // The torn record was never acknowledged to anyone: its seq is free again.
    expect((await outbox.append(samples(4))).seq).toBe(4);
    await outbox.close();
    // The count survives a restart.
    const again = await kit.open({ dir });
    expect(again.stats().truncatedBytes).toBe(tail.length);
    expect((await peekAll(again)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
  });

  it('skips a damaged record followed by valid ones, and reports it', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    await filled(dir, 3);
    const file = await lastSegment(dir);
    const bytes = await readFile(file);
    const second = bytes.indexOf('"n":2');
    expect(second).toBeGreaterThan(0);
    bytes[second + 4] = '7'.charCodeAt(0);
    await writeFile(file, bytes);
    const outbox = await kit.open({ dir, log });
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([1, 3]);
    expect(outbox.stats().corruptBytes).toBe(aRecord(2).length);
    expect(outbox.stats().truncatedBytes).toBe(0);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', object: expect.objectContaining({ skippedBytes: aRecord(2).length }) }));
  });

  it('cuts a torn tail of an older segment too (a power cut under fsync none)', async () => {
    const dir = await kit.tempDir();
    await filled(dir, 12, 512);
    const [first] = await segmentFiles(dir);
    if (first === undefined) throw new Error('no segment');
    const size = (await stat(first)).size;
    await appendFile(first, Buffer.alloc(7, 1));
    const outbox = await kit.open({ dir });
    expect(outbox.stats().truncatedBytes).toBe(7);
    expect((await stat(first)).size).toBe(size);
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('survives a torn ack journal: earlier acks hold, the cut record only costs a resend', async () => {
    const dir = await kit.tempDir();
    const outbox = await kit.open({ dir });
    for (let n = 1; n <= 4; n += 1) await outbox.append(samples(n));
    await outbox.ack(1);
    await outbox.ack(3);
    await outbox.close();
    const journal = path.join(dir, 'acks.log');
    const bytes = await readFile(journal);
    // Cut the last record (the ack of 3) in half.
    await writeFile(journal, bytes.subarray(0, bytes.length - 12));
    const reopened = await kit.open({ dir });
    expect((await peekAll(reopened)).map((entry) => entry.seq)).toEqual([2, 3, 4]);
  });

  it('drops (and counts) an entry damaged on disk after it was written', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    const outbox = await kit.open({ dir, cacheBytes: 0, log });
    for (let n = 1; n <= 3; n += 1) await outbox.append(samples(n));
    const file = await lastSegment(dir);
    const bytes = await readFile(file);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('9'), 0, 1, bytes.indexOf('"n":2') + 4);
    await handle.close();
    expect((await peekAll(outbox)).map((entry) => entry.seq)).toEqual([1, 3]);
    expect(outbox.stats()).toMatchObject({ dropped: 1, depth: 2 });
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', object: expect.objectContaining({ seq: 2 }) }));
    await outbox.close();
    const reopened = await kit.open({ dir });
    expect(reopened.stats()).toMatchObject({ dropped: 1, depth: 2 });
  });
});
