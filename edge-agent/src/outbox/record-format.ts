/**
 * One outbox record in a segment file (integers little-endian): a 32-byte header, then the
 * payload (the TelemetryBatch JSON, verbatim).
 *
 * ```
 * offset size  field
 *  0      2    magic "OB" (0x4f 0x42)
 *  2      1    format version (1)
 *  3      1    reserved (0)
 *  4      4    payload length n (u32)
 *  8      8    seq (u64, < 2^53)
 * 16      8    createdAt, epoch ms (u64)
 * 24      4    CRC-32 (IEEE, as zlib) of the payload
 * 28      4    CRC-32 of bytes 0..27
 * 32      n    payload
 * ```
 *
 * The header has its own CRC so a length is trusted only when it is intact: a flipped bit in a
 * length can never make the reader skip over good records as if they were a torn tail.
 */
import { crc32 } from './crc32.js';

export const RECORD_HEADER_BYTES = 32;
const MAGIC_0 = 0x4f;
const MAGIC_1 = 0x42;
const VERSION = 1;
/** Far above any payload limit; a larger length in a header is damage. */
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;

export interface RecordHeader {
  readonly payloadBytes: number;
  readonly seq: number;
  readonly createdAt: number;
  readonly payloadCrc: number;
}

export function encodeRecord(seq: number, createdAt: number, payload: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  bytes[0] = MAGIC_0;
  bytes[1] = MAGIC_1;
  bytes[2] = VERSION;
  bytes[3] = 0;
  bytes.writeUInt32LE(payload.length, 4);
  bytes.writeBigUInt64LE(BigInt(seq), 8);
  bytes.writeBigUInt64LE(BigInt(createdAt), 16);
  bytes.writeUInt32LE(crc32(payload), 24);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, 28)), 28);
  payload.copy(bytes, RECORD_HEADER_BYTES);
  return bytes;
}

/** The header at `offset` (32 bytes must be there), or undefined when it is not an intact header. */
export function decodeHeader(buffer: Buffer, offset: number): RecordHeader | undefined {
  if (buffer[offset] !== MAGIC_0 || buffer[offset + 1] !== MAGIC_1 || buffer[offset + 2] !== VERSION) return undefined;
  if (buffer.readUInt32LE(offset + 28) !== crc32(buffer.subarray(offset, offset + 28))) return undefined;
  const payloadBytes = buffer.readUInt32LE(offset + 4);
  if (payloadBytes > MAX_RECORD_PAYLOAD) return undefined;
  return {
    payloadBytes,
    seq: Number(buffer.readBigUInt64LE(offset + 8)),
    createdAt: Number(buffer.readBigUInt64LE(offset + 16)),
    payloadCrc: buffer.readUInt32LE(offset + 24),
  };
}

export function payloadMatches(header: RecordHeader, payload: Buffer): boolean {
  return payload.length === header.payloadBytes && crc32(payload) === header.payloadCrc;
}

export interface ScannedRecord {
  readonly seq: number;
  readonly offset: number;
  /** Header + payload. */
  readonly length: number;
  readonly createdAt: number;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** Where the valid data ends: bytes after it are a torn tail (no valid record follows). */
  readonly validEnd: number;
  /** Damaged regions followed by a valid record: skipped, not cut. */
  readonly corrupt: readonly { readonly offset: number; readonly bytes: number }[];
}

function validRecordAt(buffer: Buffer, offset: number, afterSeq: number): RecordHeader | undefined {
  if (offset + RECORD_HEADER_BYTES > buffer.length) return undefined;
  const header = decodeHeader(buffer, offset);
  if (header === undefined || header.seq <= afterSeq) return undefined;
  const end = offset + RECORD_HEADER_BYTES + header.payloadBytes;
  if (end > buffer.length) return undefined;
  return payloadMatches(header, buffer.subarray(offset + RECORD_HEADER_BYTES, end)) ? header : undefined;
}

/**
 * Verifies a whole segment: every record's header and payload CRC, seqs strictly increasing.
 * Invalid bytes with a valid record after them are a corrupt region (skipped); invalid bytes up
 * to the end are the torn tail (`validEnd` marks where to cut).
 */
export function scanSegment(buffer: Buffer): SegmentScan {
  const records: ScannedRecord[] = [];
  const corrupt: { offset: number; bytes: number }[] = [];
  let lastSeq = 0;
  let offset = 0;
  while (offset < buffer.length) {
    const header = validRecordAt(buffer, offset, lastSeq);
    if (header !== undefined) {
      const length = RECORD_HEADER_BYTES + header.payloadBytes;
      records.push({ seq: header.seq, offset, length, createdAt: header.createdAt });
      lastSeq = header.seq;
      offset += length;
      continue;
    }
    let next = buffer.indexOf(MAGIC_0, offset + 1);
    while (next !== -1 && validRecordAt(buffer, next, lastSeq) === undefined) next = buffer.indexOf(MAGIC_0, next + 1);
    if (next === -1) break;
    corrupt.push({ offset, bytes: next - offset });
    offset = next;
  }
  return { records, validEnd: offset, corrupt };
}
