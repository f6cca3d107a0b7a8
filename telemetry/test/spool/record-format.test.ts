import { describe, expect, it } from 'vitest';
import { PositionIndex } from '../../src/spool/position-index.js';
import { bodyMatches, decodeHeader, encodeRecord, RECORD_HEADER_BYTES, sealRecord } from '../../src/spool/record-format.js';

function sealed(seq: number): Buffer {
  const record = encodeRecord('pi-01', Buffer.from('pi-01'), Buffer.from('{"v":1}'), 1_700_000_000_123);
  sealRecord(record, seq);
  return record.bytes;
}

describe('spool record format', () => {
  it('decodes what it encodes', () => {
    const bytes = sealed(2 ** 40);
    const header = decodeHeader(bytes, 0);
    expect(header).toEqual({ deviceIdBytes: 5, bodyBytes: 12, seq: 2 ** 40, receivedAt: 1_700_000_000_123, bodyCrc: expect.any(Number) });
    expect(header && bodyMatches(header, bytes.subarray(RECORD_HEADER_BYTES))).toBe(true);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0x4f, 0x53, 0x01]));
  });

  it.each([
    ['the magic', 0],
    ['the version', 2],
    ['the device id length', 3],
    ['the body length', 5],
    ['the seq', 9],
    ['the time', 17],
    ['the body checksum', 25],
    ['the header checksum', 29],
  ])('refuses a header whose %s has a flipped bit', (_field, offset) => {
    const bytes = sealed(7);
    bytes[offset] = (bytes[offset] ?? 0) ^ 0x01;
    const header = decodeHeader(bytes, 0);
    // A flipped body checksum is caught by the header checksum, which covers it.
    expect(header).toBeUndefined();
  });

  it('refuses a body with a flipped bit', () => {
    const bytes = sealed(7);
    bytes[RECORD_HEADER_BYTES + 6] = (bytes[RECORD_HEADER_BYTES + 6] ?? 0) ^ 0x80;
    const header = decodeHeader(bytes, 0);
    expect(header && bodyMatches(header, bytes.subarray(RECORD_HEADER_BYTES))).toBe(false);
  });
});

describe('spool position index', () => {
  it('keeps a point per segment, per second and per MiB, and answers the nearest one at or before a seq', () => {
    const index = new PositionIndex(1000, 1024 * 1024);
    index.offer({ seq: 1, base: 1, offset: 0, at: 0 });
    index.offer({ seq: 2, base: 1, offset: 100, at: 500 });
    index.offer({ seq: 3, base: 1, offset: 200, at: 1000 });
    index.offer({ seq: 4, base: 1, offset: 2 * 1024 * 1024, at: 1001 });
    index.offer({ seq: 5, base: 5, offset: 0, at: 1002 });
    expect(index.size).toBe(4);
    expect(index.lookup(2)).toMatchObject({ seq: 1 });
    expect(index.lookup(3)).toMatchObject({ seq: 3 });
    expect(index.lookup(99)).toMatchObject({ seq: 5 });
    index.dropBefore(5);
    expect(index.lookup(2)).toMatchObject({ seq: 5 });
  });
});
