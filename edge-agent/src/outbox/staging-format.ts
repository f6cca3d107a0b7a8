/**
 * One record of the staging log (`staged.log`, staging-log.ts): a sample of the open batch,
 * integers little-endian.
 *
 * ```
 * offset size  field
 *  0      1    magic "S" (0x53)
 *  1      1    format version (1)
 *  2      2    reserved (0)
 *  4      4    payload length n (u32)
 *  8      8    tag (u64): the seq the open batch will have when it is sealed
 * 16      4    CRC-32 of the payload
 * 20      4    CRC-32 of bytes 0..19
 * 24      n    payload: one TelemetrySample, JSON
 * ```
 *
 * The log is append-only between compactions, so damage can only be a torn tail: replay stops
 * at the first record that is not intact.
 */
import { crc32 } from './crc32.js';

export const STAGED_HEADER_BYTES = 24;
const MAGIC = 0x53;
const VERSION = 1;
/** Far above any sample the batcher lets through; a larger length in a header is damage. */
const MAX_STAGED_PAYLOAD = 16 * 1024 * 1024;

export interface StagedRecord {
  readonly tag: number;
  readonly payload: Buffer;
}

export function encodeStaged(tag: number, payload: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(STAGED_HEADER_BYTES + payload.length);
  bytes[0] = MAGIC;
  bytes[1] = VERSION;
  bytes.writeUInt16LE(0, 2);
  bytes.writeUInt32LE(payload.length, 4);
  bytes.writeBigUInt64LE(BigInt(tag), 8);
  bytes.writeUInt32LE(crc32(payload), 16);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, 20)), 20);
  payload.copy(bytes, STAGED_HEADER_BYTES);
  return bytes;
}

/** The intact records from the start; `validEnd` is where the first damaged or partial one begins. */
export function scanStaged(buffer: Buffer): { readonly records: StagedRecord[]; readonly validEnd: number } {
  const records: StagedRecord[] = [];
  let offset = 0;
  while (offset + STAGED_HEADER_BYTES <= buffer.length) {
    if (buffer[offset] !== MAGIC || buffer[offset + 1] !== VERSION) break;
    if (buffer.readUInt32LE(offset + 20) !== crc32(buffer.subarray(offset, offset + 20))) break;
    const length = buffer.readUInt32LE(offset + 4);
    const end = offset + STAGED_HEADER_BYTES + length;
    if (length > MAX_STAGED_PAYLOAD || end > buffer.length) break;
    const payload = buffer.subarray(offset + STAGED_HEADER_BYTES, end);
    if (crc32(payload) !== buffer.readUInt32LE(offset + 16)) break;
    records.push({ tag: Number(buffer.readBigUInt64LE(offset + 8)), payload });
    offset = end;
  }
  return { records, validEnd: offset };
}
