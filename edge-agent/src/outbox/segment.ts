/**
 * One segment file in memory: where each record is, and whether it is still pending. Seqs within
 * a segment increase, so a seq is found by binary search. Plain arrays of numbers: at ~40 bytes
 * per entry, a full 64 MiB outbox of 300-byte batches costs ~9 MB.
 */
import type { FileHandle } from 'node:fs/promises';

export const EntryState = { pending: 0, acked: 1, refused: 2, dropped: 3, lost: 5 } as const;
export type EntryState = (typeof EntryState)[keyof typeof EntryState];

export class Segment {
  readonly seqs: number[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  readonly createdAts: number[] = [];
  readonly states: EntryState[] = [];
  /** Samples in each entry; -1 when not known (entries found at open: counted from disk when needed). */
  readonly samples: number[] = [];
  /** Entries still pending. */
  pending = 0;
  /** No pending entry before this index. */
  head = 0;
  /** A read-only handle, opened on the first read from disk. */
  reader: FileHandle | undefined;

  constructor(
    readonly base: number,
    readonly file: string,
    /** Bytes of complete records in the file. */
    public size: number,
  ) {}

  get lastSeq(): number | undefined {
    return this.seqs[this.seqs.length - 1];
  }

  add(seq: number, offset: number, length: number, createdAt: number, state: EntryState, samples = -1): void {
    this.seqs.push(seq);
    this.samples.push(samples);
    this.offsets.push(offset);
    this.lengths.push(length);
    this.createdAts.push(createdAt);
    this.states.push(state);
    if (state === EntryState.pending) this.pending += 1;
    this.advanceHead();
  }

  indexOf(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.seqs[mid] ?? 0;
      if (at === seq) return mid;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Marks a pending entry done; false when it was not pending. */
  settle(index: number, state: EntryState): boolean {
    if (this.states[index] !== EntryState.pending) return false;
    this.states[index] = state;
    this.pending -= 1;
    this.advanceHead();
    return true;
  }

  private advanceHead(): void {
    while (this.head < this.states.length && this.states[this.head] !== EntryState.pending) this.head += 1;
  }
}
