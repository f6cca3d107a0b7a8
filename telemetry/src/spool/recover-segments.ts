import { open, type FileHandle } from 'node:fs/promises';
import { decodeHeader, RECORD_HEADER_BYTES } from './record-format.js';
import { SegmentReader } from './segment-reader.js';
import type { SegmentState, SpoolState } from './spool-state.js';

/**
 * Indexes a closed segment cheaply: its size and its first record's time. Its records are
 * verified later, as they are read (a large spool opens in milliseconds).
 */
export async function inspectClosedSegment(state: SpoolState, base: number): Promise<SegmentState> {
  const path = state.segmentPath(base);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, RECORD_HEADER_BYTES, 0);
    const decoded = bytesRead === RECORD_HEADER_BYTES ? decodeHeader(header, 0) : undefined;
    state.index.offer({ seq: decoded?.seq ?? base, base, offset: 0, at: decoded?.receivedAt });
    return { base, path, size };
  } finally {
    await handle.close();
  }
}

export interface RecoveredTail {
  readonly segment: SegmentState;
  /** Open for writing at `segment.size`. */
  readonly handle: FileHandle;
  /** Seq of its last valid record, or base - 1 when it has none. */
  readonly lastSeq: number;
  readonly truncatedBytes: number;
}

/**
 * Verifies every record of the last segment (the only one a crash can leave half-written).
 * Invalid bytes followed by a valid record are corruption: reported and skipped by readers.
 * Invalid bytes with no valid record after them are a torn tail — a write the crash interrupted,
 * never acknowledged because its fsync never returned — and are cut off.
 */
export async function recoverTail(state: SpoolState, base: number): Promise<RecoveredTail> {
  const path = state.segmentPath(base);
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    const reader = new SegmentReader(handle, path);
    let offset = 0;
    let lastSeq = base - 1;
    let truncatedBytes = 0;
    for (;;) {
      const step = await reader.step(offset, size, lastSeq);
      if (step.kind === 'end') break;
      if (step.kind === 'record') {
        state.index.offer({ seq: step.header.seq, base, offset, at: step.header.receivedAt });
        lastSeq = step.header.seq;
        offset = step.end;
        continue;
      }
      if (step.resumeAt !== undefined) {
        state.reportCorruption(path, step.offset, step.resumeAt, size);
        offset = step.resumeAt;
        continue;
      }
      truncatedBytes = size - step.offset;
      await handle.truncate(step.offset);
      await handle.datasync();
      state.log?.warn({ file: path, offset: step.offset, truncatedBytes }, 'spool: torn tail cut off (an unacknowledged write interrupted by a crash)');
      offset = step.offset;
      break;
    }
    return { segment: { base, path, size: offset }, handle, lastSeq, truncatedBytes };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
