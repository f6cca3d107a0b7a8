/**
 * The on-disk layout of one spool record (all integers little-endian):
 *
 * ```
 * offset size  field
 *  0      2    magic "OS" (0x4f 0x53)
 *  2      1    format version (1)
 *  3      1    device id length k, in UTF-8 bytes (≤ 255)
 *  4      4    body length n = k + payload bytes (u32)
 *  8      8    seq (u64; < 2^53 in practice)
 * 16      8    receivedAt, epoch milliseconds (u64)
 * 24      4    CRC-32 (IEEE) of the body
 * 28      4    CRC-32 of bytes 0..27 (the header, body CRC included)
 * 32      n    body: device id (k bytes) ‖ payload (the accepted batch, verbatim)
 * ```
 *
 * The header CRC lets a reader trust the length before reading the body, so a flipped bit in a
 * length can never be mistaken for a torn tail (which would truncate good records after it).
 */
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC_0 = 0x4f;
export const RECORD_MAGIC_1 = 0x53;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 32;
/** The largest payload the spool stores (the broker's payload limits are far lower). */
export const MAX_RECORD_PAYLOAD_BYTES = 16 * 1024 * 1024;
export const MAX_DEVICE_ID_BYTES = 255;

/** A record encoded at append time; its seq and header CRC are filled in at write time. */
export interface EncodedRecord {
  readonly bytes: Buffer;
  readonly receivedAt: number;
  /** The device id as text (the bytes hold it as UTF-8): what readers of the in-memory tail get. */
  readonly deviceId: string;
}

/** A decoded, verified header. */
export interface RecordHeader {
  readonly deviceIdBytes: number;
  readonly bodyBytes: number;
  readonly seq: number;
  readonly receivedAt: number;
  readonly bodyCrc: number;
}

/** Lays out header (without seq and header CRC) and body; computes the body CRC. */
export function encodeRecord(deviceId: string, deviceIdBytes: Buffer, payload: Uint8Array, receivedAt: number): EncodedRecord {
  const bodyBytes = deviceIdBytes.length + payload.length;
  const bytes = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyBytes);
  bytes[0] = RECORD_MAGIC_0;
  bytes[1] = RECORD_MAGIC_1;
  bytes[2] = RECORD_VERSION;
  bytes[3] = deviceIdBytes.length;
  bytes.writeUInt32LE(bodyBytes, 4);
  bytes.writeBigUInt64LE(0n, 8);
  bytes.writeBigUInt64LE(BigInt(receivedAt), 16);
  deviceIdBytes.copy(bytes, RECORD_HEADER_BYTES);
  bytes.set(payload, RECORD_HEADER_BYTES + deviceIdBytes.length);
  bytes.writeUInt32LE(crc32(bytes.subarray(RECORD_HEADER_BYTES)), 24);
  bytes.writeUInt32LE(0, 28);
  return { bytes, receivedAt, deviceId };
}

/** Stamps the sequence number and seals the header with its CRC (done when the write is ordered). */
export function sealRecord(record: EncodedRecord, seq: number): void {
  record.bytes.writeBigUInt64LE(BigInt(seq), 8);
  record.bytes.writeUInt32LE(crc32(record.bytes.subarray(0, 28)), 28);
}

/**
 * Decodes the header at `offset` of `buffer` (which must hold RECORD_HEADER_BYTES from there),
 * or undefined when the magic, version, device id length or header CRC is wrong.
 */
export function decodeHeader(buffer: Buffer, offset: number): RecordHeader | undefined {
  if (buffer[offset] !== RECORD_MAGIC_0 || buffer[offset + 1] !== RECORD_MAGIC_1) return undefined;
  if (buffer[offset + 2] !== RECORD_VERSION) return undefined;
  if (buffer.readUInt32LE(offset + 28) !== crc32(buffer.subarray(offset, offset + 28))) return undefined;
  const deviceIdBytes = buffer[offset + 3] ?? 0;
  const bodyBytes = buffer.readUInt32LE(offset + 4);
  if (deviceIdBytes > bodyBytes || bodyBytes - deviceIdBytes > MAX_RECORD_PAYLOAD_BYTES) return undefined;
  return {
    deviceIdBytes,
    bodyBytes,
    seq: Number(buffer.readBigUInt64LE(offset + 8)),
    receivedAt: Number(buffer.readBigUInt64LE(offset + 16)),
    bodyCrc: buffer.readUInt32LE(offset + 24),
  };
}

/** True when `body` matches the CRC its header announced. */
export function bodyMatches(header: RecordHeader, body: Buffer): boolean {
  return body.length === header.bodyBytes && crc32(body) === header.bodyCrc;
}
