/**
 * Open-time recovery of the segment files: each is verified record by record (header CRC,
 * payload CRC, increasing seqs). A torn tail — invalid bytes with no valid record after them, the
 * trace of a write cut by SIGKILL or a power cut — is cut (ftruncate + fsync) and counted; damage
 * followed by valid records is skipped and reported (the records after it are kept). Entries the
 * journal knows as done are marked so.
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JournalState } from './ack-journal.js';
import { listSegmentBases, segmentFileName } from './dir-files.js';
import { JournalKind } from './journal-format.js';
import type { OutboxLog } from './outbox-types.js';
import { scanSegment } from './record-format.js';
import { EntryState, Segment } from './segment.js';

export interface RecoveredSegments {
  readonly segments: Segment[];
  readonly truncatedBytes: number;
  readonly corruptBytes: number;
  /** One past the largest seq found in a segment (or its base), 1 when there is none. */
  readonly nextSeq: number;
}

function stateOf(journal: JournalState, seq: number): EntryState {
  if (seq <= journal.dropThrough) return EntryState.dropped;
  switch (journal.done.get(seq)) {
    case JournalKind.acked:
      return EntryState.acked;
    case JournalKind.refused:
      return EntryState.refused;
    case JournalKind.lost:
      return EntryState.lost;
    default:
      return EntryState.pending;
  }
}

async function cutTail(file: string, size: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function recoverSegments(dir: string, journal: JournalState, log?: OutboxLog): Promise<RecoveredSegments> {
  const segments: Segment[] = [];
  let truncatedBytes = 0;
  let corruptBytes = 0;
  let nextSeq = 1;
  for (const base of await listSegmentBases(dir)) {
    const file = path.join(dir, segmentFileName(base));
    const bytes = await readFile(file);
    const scan = scanSegment(bytes);
    for (const region of scan.corrupt) {
      corruptBytes += region.bytes;
      log?.error({ file, offset: region.offset, skippedBytes: region.bytes }, 'outbox: damaged bytes inside a segment skipped');
    }
    if (scan.validEnd < bytes.length) {
      const cut = bytes.length - scan.validEnd;
      truncatedBytes += cut;
      log?.warn({ file, offset: scan.validEnd, bytes: cut }, 'outbox: torn tail cut (a write that never completed)');
      await cutTail(file, scan.validEnd);
    }
    const segment = new Segment(base, file, scan.validEnd);
    for (const record of scan.records) {
      segment.add(record.seq, record.offset, record.length, record.createdAt, stateOf(journal, record.seq));
    }
    nextSeq = Math.max(nextSeq, base, (segment.lastSeq ?? 0) + 1);
    segments.push(segment);
  }
  return { segments, truncatedBytes, corruptBytes, nextSeq };
}
