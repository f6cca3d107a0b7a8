import { open } from 'node:fs/promises';
import { SegmentReader } from './segment-reader.js';
import type { SpoolState } from './spool-state.js';
import type { SpoolEntry } from './spool-types.js';

interface Position {
  readonly base: number;
  readonly reader: SegmentReader;
  offset: number;
  /** The last seq passed in this segment: a valid next record has a greater one. */
  lastSeen: number;
}

/**
 * Pulls durable records after a seq, segment after segment, through its own file handles (or
 * from the tail cache when it keeps up); a reader of written records, once caught up with the
 * durable end, also takes the records written and awaiting their fsync.
 * Checksums are verified on every read; a corrupt region is reported once and skipped. A
 * segment deleted under the reader (every consumer committed past it) is left for the oldest
 * remaining one.
 */
export class ConsumerReader {
  private position: Position | undefined;
  private lastDelivered: number;

  constructor(
    private readonly state: SpoolState,
    after: number,
    /** Also hand out the records written and awaiting their fsync (SpoolReadOptions.written). */
    private readonly written = false,
  ) {
    this.lastDelivered = after;
  }

  /** The seq of the last record this reader handed out (its start cursor before any). */
  get delivered(): number {
    return this.lastDelivered;
  }

  /**
   * Up to `maxRecords` durable records not yet delivered, within `maxBytes` of payload — except
   * that the first record always goes when `firstMayExceed`. Empty when none is durable yet.
   */
  async take(maxRecords: number, maxBytes: number, firstMayExceed: boolean): Promise<SpoolEntry[]> {
    if (this.state.closed) return [];
    if (this.written && this.lastDelivered >= this.state.lastSeq) return this.takeWritten(maxRecords, maxBytes, firstMayExceed);
    const cached = this.state.tail.take(this.lastDelivered + 1, maxRecords, maxBytes, firstMayExceed);
    if (cached !== undefined) {
      // Caught up with the tail: no file needed until the reader falls behind the cache (then it
      // starts again from the position index, not from a stale offset).
      if (this.position) await this.leave();
      const last = cached[cached.length - 1];
      if (last !== undefined) {
        this.lastDelivered = last.seq;
        this.state.releaseDelivered();
      }
      return cached;
    }
    const entries: SpoolEntry[] = [];
    let bytes = 0;
    while (entries.length < maxRecords && !this.state.closed) {
      const position = await this.current();
      if (!position) break;
      const segment = this.state.segment(position.base);
      if (!segment) {
        await this.leave();
        continue;
      }
      const step = await position.reader.step(position.offset, segment.size, position.lastSeen);
      if (step.kind === 'end') {
        const next = this.state.segmentAfter(position.base);
        if (!next) break;
        await this.leave();
        this.position = await this.enter(next.base, 0, next.base - 1);
        continue;
      }
      if (step.kind === 'corrupt') {
        this.state.reportCorruption(position.reader.path, step.offset, step.resumeAt, segment.size);
        position.offset = step.resumeAt ?? segment.size;
        continue;
      }
      const { header, body } = step;
      if (header.seq > this.lastDelivered) {
        const payloadBytes = header.bodyBytes - header.deviceIdBytes;
        const mayExceed = entries.length === 0 && firstMayExceed;
        if (bytes + payloadBytes > maxBytes && !mayExceed) break;
        entries.push({
          seq: header.seq,
          deviceId: body.toString('utf8', 0, header.deviceIdBytes),
          receivedAt: header.receivedAt,
          // A view, not a copy: the segment reader reads into a fresh buffer each time, so the
          // bytes stay as they are while the entry lives (bounded by maxUncommitted).
          payload: body.subarray(header.deviceIdBytes),
        });
        bytes += payloadBytes;
        this.lastDelivered = header.seq;
      }
      position.offset = step.end;
      position.lastSeen = header.seq;
    }
    return entries;
  }

  async close(): Promise<void> {
    await this.leave();
  }

  /** Caught up with the durable end: the written records after the last delivered. */
  private async takeWritten(maxRecords: number, maxBytes: number, firstMayExceed: boolean): Promise<SpoolEntry[]> {
    if (this.position) await this.leave();
    const taken: SpoolEntry[] = [];
    let bytes = 0;
    for (const entry of this.state.written) {
      if (entry.seq <= this.lastDelivered) continue;
      if (taken.length >= maxRecords) break;
      const mayExceed = taken.length === 0 && firstMayExceed;
      if (bytes + entry.payload.length > maxBytes && !mayExceed) break;
      taken.push(entry);
      bytes += entry.payload.length;
    }
    const last = taken[taken.length - 1];
    if (last !== undefined) this.lastDelivered = last.seq;
    return taken;
  }

  /** The open position, or the segment holding the record after lastDelivered. */
  private async current(): Promise<Position | undefined> {
    const target = this.lastDelivered + 1;
    while (!this.position) {
      const segment = this.state.segmentFor(target);
      if (!segment) return undefined;
      const point = this.state.index.lookup(target);
      const fromPoint = point !== undefined && point.base === segment.base && point.seq <= target;
      this.position = fromPoint
        ? await this.enter(segment.base, point.offset, point.seq - 1)
        : await this.enter(segment.base, 0, segment.base - 1);
      // Gone between the lookup and the open (reclaimed): look again, unless it is still listed.
      if (!this.position && this.state.segment(segment.base)) return undefined;
    }
    return this.position;
  }

  private async enter(base: number, offset: number, lastSeen: number): Promise<Position | undefined> {
    const segment = this.state.segment(base);
    if (!segment) return undefined;
    try {
      const handle = await open(segment.path, 'r');
      return { base, reader: new SegmentReader(handle, segment.path), offset, lastSeen };
    } catch (error) {
      // Deleted between the lookup and the open: the caller starts over from the oldest segment.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async leave(): Promise<void> {
    const position = this.position;
    this.position = undefined;
    await position?.reader.close();
  }
}
