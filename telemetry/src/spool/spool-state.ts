import path from 'node:path';
import { Subject } from 'rxjs';
import { PositionIndex } from './position-index.js';
import { segmentFileName } from './segment-files.js';
import { spoolError } from './spool-errors.js';
import { TailCache } from './tail-cache.js';
import type { SpoolEntry, SpoolLogger } from './spool-types.js';

/** A segment file; `size` counts durable bytes only (readers never read further). */
export interface SegmentState {
  /** Lower bound of its seqs (the first record's seq, or the seq it was created for). */
  readonly base: number;
  readonly path: string;
  size: number;
}

/**
 * What the writer, the readers and the façade share inside one open spool: the segments, the
 * durable end, the records written and awaiting their fsync, the consumers' cursors, and a change
 * signal (write, durable append, commit, close) that wakes readers instead of polling.
 */
export class SpoolState {
  readonly segments: SegmentState[] = [];
  readonly index = new PositionIndex();
  readonly changes = new Subject<void>();
  /** Bumped with every change, so a reader can tell it missed one while it was reading. */
  version = 0;
  /** Seq of the newest durable record. */
  lastSeq = 0;
  closed = false;
  corruptRegions = 0;
  /** The cursor each consumer asked for (ahead of or equal to the persisted one). */
  readonly requested = new Map<string, number>();
  /** The cursor each consumer's file holds. */
  readonly persisted = new Map<string, number>();
  private readonly reported = new Set<string>();

  /** The newest durable records, for readers that keep up. */
  readonly tail: TailCache;
  /**
   * The records written to the active segment and not yet durable, in order (empty when every
   * write is covered by an fsync that returned), for readers that take written records
   * (SpoolReadOptions.written).
   */
  written: readonly SpoolEntry[] = [];
  /** Open readers that take written records: only then does a write wake the readers. */
  writtenReaders = 0;
  /** Readers open now, by the consumer they read for (what each was handed frees the tail cache). */
  readonly readers = new Map<{ readonly delivered: number }, string>();

  constructor(
    readonly dir: string,
    readonly log: SpoolLogger | undefined,
    tailCacheBytes: number,
  ) {
    this.tail = new TailCache(tailCacheBytes);
  }

  /** Seq of the newest record written to a segment: the last of `written`, else the durable end. */
  get writtenSeq(): number {
    return this.written[this.written.length - 1]?.seq ?? this.lastSeq;
  }

  segmentPath(base: number): string {
    return path.join(this.dir, segmentFileName(base));
  }

  segment(base: number): SegmentState | undefined {
    return this.segments.find((segment) => segment.base === base);
  }

  /** The segment that holds `seq` (greatest base ≤ seq), else the first one. */
  segmentFor(seq: number): SegmentState | undefined {
    let found = this.segments[0];
    for (const segment of this.segments) {
      if (segment.base <= seq) found = segment;
      else break;
    }
    return found;
  }

  segmentAfter(base: number): SegmentState | undefined {
    return this.segments.find((segment) => segment.base > base);
  }

  get bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  /**
   * Frees the tail cache of the records every consumer has been handed: a consumer's position is
   * the least of its open readers' (a consumer with none counts at its cursor, so a reader that
   * starts later still finds its records in memory, within the cache's bound).
   */
  releaseDelivered(): void {
    let floor = Number.POSITIVE_INFINITY;
    for (const [consumer, cursor] of this.requested) {
      let position: number | undefined;
      for (const [reader, of] of this.readers) if (of === consumer) position = Math.min(position ?? Number.POSITIVE_INFINITY, reader.delivered);
      floor = Math.min(floor, position ?? cursor);
    }
    if (floor !== Number.POSITIVE_INFINITY) this.tail.release(floor);
  }

  notify(): void {
    this.version += 1;
    this.changes.next();
  }

  /** Counts and logs a corrupt region once (several readers may cross it). */
  reportCorruption(file: string, offset: number, resumeAt: number | undefined, end: number): void {
    const key = `${file}:${offset}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.corruptRegions += 1;
    const skippedBytes = (resumeAt ?? end) - offset;
    const error = spoolError('SPOOL_CORRUPT', `corrupt spool bytes in ${file} at offset ${offset}: ${skippedBytes} bytes skipped`, {
      details: { file, offset, skippedBytes, resumeAt },
    });
    this.log?.error({ err: error, code: error.code, file, offset, skippedBytes }, 'spool: corrupt records skipped; acknowledged data in them is lost');
  }
}
