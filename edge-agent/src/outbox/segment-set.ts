/** Lookups over the ordered list of live segments. */
import { JournalKind } from './journal-format.js';
import type { JournalRecord } from './journal-format.js';
import { EntryState } from './segment.js';
import type { Segment } from './segment.js';

/** The segment that would hold `seq`: the last one whose base is ≤ seq. */
export function findSegment(segments: readonly Segment[], seq: number): Segment | undefined {
  let lo = 0;
  let hi = segments.length - 1;
  let found: Segment | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const segment = segments[mid];
    if (segment === undefined) break;
    if (segment.base <= seq) {
      found = segment;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export interface Counters {
  readonly dropThrough: number;
  readonly dropped: number;
  readonly droppedSamples: number;
  readonly refused: number;
  readonly truncatedBytes: number;
}

/** What a compacted journal must say: how each settled entry still on disk left, and the counters. */
export function neededFacts(segments: readonly Segment[], counters: Counters): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const segment of segments) {
    segment.states.forEach((state, index) => {
      const seq = segment.seqs[index] ?? 0;
      if (state === EntryState.acked) records.push({ kind: JournalKind.acked, seq, total: 0 });
      else if (state === EntryState.refused) records.push({ kind: JournalKind.refused, seq, total: counters.refused });
      else if (state === EntryState.lost) records.push({ kind: JournalKind.lost, seq, total: counters.dropped });
    });
  }
  records.push({ kind: JournalKind.droppedSamples, seq: counters.dropThrough, total: counters.droppedSamples });
  records.push({ kind: JournalKind.droppedThrough, seq: counters.dropThrough, total: counters.dropped });
  records.push({ kind: JournalKind.refused, seq: 0, total: counters.refused });
  records.push({ kind: JournalKind.truncated, seq: 0, total: counters.truncatedBytes });
  return records;
}
