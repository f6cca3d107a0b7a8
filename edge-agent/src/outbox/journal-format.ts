/**
 * The ack journal (`acks.log`): fixed 24-byte records, little-endian.
 *
 * ```
 * offset size  field
 *  0      1    magic "K" (0x4b)
 *  1      1    kind: 1 acked, 2 refused, 3 dropped through seq, 4 truncated bytes, 5 lost (corrupt on read),
 *              6 samples dropped (the samples of the batches of kind 3; written just before it)
 *  2      2    reserved (0)
 *  4      8    seq (u64): the entry (1, 2, 5), the last dropped seq (3, 6), 0 (4)
 * 12      8    total (u64): the lifetime counter after this event — refused (2), dropped (3, 5),
 *              truncatedBytes (4), droppedSamples (6); 0 for acks
 * 20      4    CRC-32 of bytes 0..19
 * ```
 *
 * Counters are totals rather than increments, so replay takes the largest and a compaction only
 * needs to write the latest of each. Kind 6 came with ADR 0006: an older agent skips it as a
 * damaged record (and logs that once), which loses nothing but the sample count.
 */
import { crc32 } from './crc32.js';

export const JOURNAL_RECORD_BYTES = 24;
const MAGIC = 0x4b;

export const JournalKind = { acked: 1, refused: 2, droppedThrough: 3, truncated: 4, lost: 5, droppedSamples: 6 } as const;
export type JournalKind = (typeof JournalKind)[keyof typeof JournalKind];

export interface JournalRecord {
  readonly kind: JournalKind;
  readonly seq: number;
  readonly total: number;
}

export function encodeJournalRecords(records: readonly JournalRecord[]): Buffer {
  const bytes = Buffer.alloc(records.length * JOURNAL_RECORD_BYTES);
  records.forEach((record, index) => {
    const at = index * JOURNAL_RECORD_BYTES;
    bytes[at] = MAGIC;
    bytes[at + 1] = record.kind;
    bytes.writeBigUInt64LE(BigInt(record.seq), at + 4);
    bytes.writeBigUInt64LE(BigInt(record.total), at + 12);
    bytes.writeUInt32LE(crc32(bytes.subarray(at, at + 20)), at + 20);
  });
  return bytes;
}

export function decodeJournalRecord(bytes: Buffer, at: number): JournalRecord | undefined {
  if (at + JOURNAL_RECORD_BYTES > bytes.length || bytes[at] !== MAGIC) return undefined;
  if (bytes.readUInt32LE(at + 20) !== crc32(bytes.subarray(at, at + 20))) return undefined;
  const kind = bytes[at + 1];
  if (kind === undefined || kind < 1 || kind > 6) return undefined;
  return { kind: kind as JournalKind, seq: Number(bytes.readBigUInt64LE(at + 4)), total: Number(bytes.readBigUInt64LE(at + 12)) };
}
