import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/outbox/crc32.js';

/** zlib's own crc32 where this Node has it (20.15+), the reference the outbox's on-disk values came from. */
const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

describe('crc32', () => {
  it('gives the standard check values', () => {
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it.skipIf(zlibCrc32 === undefined)('agrees with zlib.crc32 on random buffers of every small length and some large ones', () => {
    const reference = zlibCrc32 as (data: Uint8Array, value?: number) => number;
    for (let length = 0; length < 300; length += 1) {
      const bytes = randomBytes(length);
      expect(crc32(bytes), `length ${length}`).toBe(reference(bytes));
    }
    for (const length of [4096, 65_537, 1_000_003]) {
      const bytes = randomBytes(length);
      expect(crc32(bytes)).toBe(reference(bytes));
      // A view into a larger buffer at an odd offset, as the outbox checks headers in place.
      const view = bytes.subarray(3, 3 + 28);
      expect(crc32(view)).toBe(reference(view));
    }
  });

  it.skipIf(zlibCrc32 === undefined)('continues a running CRC like zlib', () => {
    const reference = zlibCrc32 as (data: Uint8Array, value?: number) => number;
    const a = randomBytes(1001);
    const b = randomBytes(77);
    expect(crc32(b, crc32(a))).toBe(reference(Buffer.concat([a, b])));
    expect(crc32(b, 12345)).toBe(reference(b, 12345));
  });

  it('checksums 16 MiB faster than 50 MiB/s (about 700 MiB/s on x64), far beyond what the outbox writes', () => {
    const bytes = randomBytes(16 * 1024 * 1024);
    crc32(bytes.subarray(0, 1024));
    const started = process.hrtime.bigint();
    crc32(bytes);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expect(16 / seconds).toBeGreaterThan(50);
  });
});
