import { appendFile, open, readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RECORD_HEADER_BYTES, type Spool } from '../../src/spool/index.js';
import { memoryLogger, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

const DEVICE = 'pi-01';
const FIRST_SEGMENT = '00000000000000000001.seg';
/** Payloads of one size, so record offsets are simple arithmetic. */
const payloadOf = (n: number): string => `{"v":1,"seq":${String(n).padStart(4, '0')},"samples":[]}`;
const RECORD = RECORD_HEADER_BYTES + DEVICE.length + payloadOf(0).length;

async function writeRecords(dir: string, count: number, options: { segmentBytes?: number } = {}): Promise<void> {
  const spool = await kit.open({ dir, maxBytes: 1024 * 1024, ...options });
  for (let n = 0; n < count; n += 1) await spool.append({ deviceId: DEVICE, payload: payloadOf(n) });
  await spool.close();
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0x20;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

async function seqsOf(spool: Spool, count: number): Promise<number[]> {
  return (await readEntries(spool, 'ingest', count)).map((entry) => entry.seq);
}

describe('spool recovery at open', () => {
  it('cuts a record torn mid-write and keeps every record before it', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 5);
    const file = path.join(dir, FIRST_SEGMENT);
    await truncate(file, 5 * RECORD - 10);
    const log = memoryLogger();
    const spool = await kit.open({ dir }, { log });
    expect(spool.stats()).toMatchObject({ lastSeq: 4, truncatedBytes: RECORD - 10, corruptRegions: 0 });
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', object: expect.objectContaining({ file, offset: 4 * RECORD }) })]);
    expect((await readEntries(spool, 'ingest', 4)).map(payloadText)).toEqual([0, 1, 2, 3].map(payloadOf));
    expect(await spool.append({ deviceId: DEVICE, payload: payloadOf(9) })).toEqual({ seq: 5 });
    expect((await stat(file)).size).toBe(5 * RECORD);
  });

  it('cuts garbage after the last record, even garbage that starts like a header', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 3);
    const file = path.join(dir, FIRST_SEGMENT);
    await appendFile(file, Buffer.concat([Buffer.from([0x4f, 0x53, 0x01, 0x05]), Buffer.alloc(60, 0xab)]));
    const spool = await kit.open({ dir });
    expect(spool.stats()).toMatchObject({ lastSeq: 3, truncatedBytes: 64 });
    expect(await seqsOf(spool, 3)).toEqual([1, 2, 3]);
  });

  it('cuts a zero-filled tail (a size extended without its data)', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 2);
    await appendFile(path.join(dir, FIRST_SEGMENT), Buffer.alloc(4096));
    const spool = await kit.open({ dir });
    expect(spool.stats()).toMatchObject({ lastSeq: 2, truncatedBytes: 4096 });
  });

  it('treats a damaged last record like a torn one: cut (the two cannot be told apart)', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 3);
    await flipByte(path.join(dir, FIRST_SEGMENT), 2 * RECORD + RECORD_HEADER_BYTES + 8);
    const spool = await kit.open({ dir });
    expect(spool.stats()).toMatchObject({ lastSeq: 2, truncatedBytes: RECORD });
  });
});

describe('spool corruption inside the log', () => {
  it('detects a flipped byte in an earlier record by its checksum, reports it with file and offset, and skips it', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 5);
    const file = path.join(dir, FIRST_SEGMENT);
    await flipByte(file, 2 * RECORD + RECORD_HEADER_BYTES + 12);
    const log = memoryLogger();
    const spool = await kit.open({ dir }, { log });
    // Not a torn tail: valid records follow, so nothing is cut.
    expect(spool.stats()).toMatchObject({ lastSeq: 5, truncatedBytes: 0, corruptRegions: 1 });
    expect(log.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        object: expect.objectContaining({ code: 'SPOOL_CORRUPT', file, offset: 2 * RECORD, skippedBytes: RECORD }),
      }),
    ]);
    expect(await seqsOf(spool, 4)).toEqual([1, 2, 4, 5]);
    expect((await readEntries(spool, 'alerts', 4)).map(payloadText)).toEqual([0, 1, 3, 4].map(payloadOf));
    expect(spool.stats().corruptRegions).toBe(1);
    expect(await spool.append({ deviceId: DEVICE, payload: payloadOf(5) })).toEqual({ seq: 6 });
  });

  it('finds damage in an older segment when reading it, reports it once, and reads on', async () => {
    const dir = await kit.tempDir();
    await writeRecords(dir, 20, { segmentBytes: 8 * RECORD });
    const segments = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const file = path.join(dir, FIRST_SEGMENT);
    // A length field: the header checksum catches it, so it is never taken for a torn tail.
    await flipByte(file, 3 * RECORD + 5);
    const log = memoryLogger();
    const spool = await kit.open({ dir }, { log });
    expect(spool.stats()).toMatchObject({ corruptRegions: 0, lastSeq: 20 });
    const expected = Array.from({ length: 20 }, (_, n) => n + 1).filter((seq) => seq !== 4);
    expect(await seqsOf(spool, 19)).toEqual(expected);
    expect((await readEntries(spool, 'alerts', 19)).map((entry) => entry.seq)).toEqual(expected);
    expect(spool.stats().corruptRegions).toBe(1);
    expect(log.lines.filter((line) => line.level === 'error')).toEqual([
      expect.objectContaining({ object: expect.objectContaining({ file, offset: 3 * RECORD }) }),
    ]);
  });
});
