import type { FileHandle } from 'node:fs/promises';
import { bodyMatches, decodeHeader, RECORD_HEADER_BYTES, RECORD_MAGIC_0, RECORD_MAGIC_1, type RecordHeader } from './record-format.js';

const READ_AHEAD_BYTES = 1024 * 1024;

/** One step of reading a segment at an offset. */
export type SegmentStep =
  | {
      readonly kind: 'record';
      readonly offset: number;
      /** Offset just past this record. */
      readonly end: number;
      readonly header: RecordHeader;
      /** A view into the read-ahead buffer: copy what you keep. */
      readonly body: Buffer;
    }
  | {
      readonly kind: 'corrupt';
      readonly offset: number;
      /** The next valid record before the limit, or undefined when there is none. */
      readonly resumeAt: number | undefined;
    }
  | { readonly kind: 'end' };

/**
 * Reads records of one segment file through a read-ahead buffer. Never reads past the `limit`
 * a caller gives (the durable end of the active segment), so it never caches bytes a failed
 * group commit might later rewrite.
 */
export class SegmentReader {
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /**
   * The record at `offset` when it is whole, valid, and its seq is greater than `afterSeq`;
   * otherwise `corrupt` with where the next valid record starts.
   */
  async step(offset: number, limit: number, afterSeq: number): Promise<SegmentStep> {
    if (offset >= limit) return { kind: 'end' };
    const record = await this.validRecordAt(offset, limit, afterSeq);
    if (record) return record;
    return { kind: 'corrupt', offset, resumeAt: await this.findNextValid(offset + 1, limit, afterSeq) };
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async validRecordAt(
    offset: number,
    limit: number,
    afterSeq: number,
  ): Promise<Extract<SegmentStep, { kind: 'record' }> | undefined> {
    if (limit - offset < RECORD_HEADER_BYTES) return undefined;
    const headerBytes = await this.bytes(offset, RECORD_HEADER_BYTES, limit);
    if (headerBytes.length < RECORD_HEADER_BYTES) return undefined;
    const header = decodeHeader(headerBytes, 0);
    if (!header || header.seq <= afterSeq) return undefined;
    const end = offset + RECORD_HEADER_BYTES + header.bodyBytes;
    if (end > limit) return undefined;
    const body = await this.bytes(offset + RECORD_HEADER_BYTES, header.bodyBytes, limit);
    if (!bodyMatches(header, body)) return undefined;
    return { kind: 'record', offset, end, header, body };
  }

  /** Scans forward (through its own buffer) for the magic, then for a record that verifies. */
  private async findNextValid(from: number, limit: number, afterSeq: number): Promise<number | undefined> {
    const chunk = Buffer.allocUnsafe(READ_AHEAD_BYTES);
    let position = from;
    while (position < limit - 1) {
      const { bytesRead } = await this.handle.read(chunk, 0, Math.min(chunk.length, limit - position), position);
      if (bytesRead < 2) return undefined;
      const view = chunk.subarray(0, bytesRead);
      for (let hit = view.indexOf(RECORD_MAGIC_0); hit >= 0 && hit < bytesRead - 1; hit = view.indexOf(RECORD_MAGIC_0, hit + 1)) {
        if (view[hit + 1] !== RECORD_MAGIC_1) continue;
        if (await this.validRecordAt(position + hit, limit, afterSeq)) return position + hit;
      }
      position += bytesRead - 1;
    }
    return undefined;
  }

  /** `length` bytes at `offset` (fewer at the end of the file), as a view into the buffer. */
  private async bytes(offset: number, length: number, limit: number): Promise<Buffer> {
    const inBuffer = offset >= this.bufferStart && offset + length <= this.bufferStart + this.buffer.length;
    if (!inBuffer) {
      const size = Math.min(Math.max(length, READ_AHEAD_BYTES), Math.max(limit - offset, length));
      // A fresh buffer each time: views handed out earlier stay valid.
      const target = Buffer.allocUnsafe(size);
      const { bytesRead } = await this.handle.read(target, 0, size, offset);
      this.buffer = target.subarray(0, bytesRead);
      this.bufferStart = offset;
    }
    const start = offset - this.bufferStart;
    return this.buffer.subarray(start, start + length);
  }
}
