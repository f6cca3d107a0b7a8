import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { OutpostError } from '@outpost/protocol';
import { RECORD_HEADER_BYTES, sealRecord, type EncodedRecord } from './record-format.js';
import { syncDirectory } from './segment-files.js';
import { spoolError } from './spool-errors.js';
import type { SegmentState, SpoolState } from './spool-state.js';
import type { SpoolEntry } from './spool-types.js';

interface PendingAppend {
  readonly record: EncodedRecord;
  readonly onWritten: ((seq: number) => void) | undefined;
  resolve(seq: number): void;
  reject(error: unknown): void;
}

export interface GroupCommitOptions {
  readonly segmentBytes: number;
  /**
   * Linger of a group's first append when the writer is idle. 0: no linger — the group is
   * written on the next turn of the event loop (the appends of one turn, e.g. every publish read
   * from the sockets in one poll, share it).
   */
  readonly groupCommitMs: number;
  readonly sync: (handle: FileHandle) => Promise<void>;
}

/** Flush a lingering group early once this many bytes wait. */
const EARLY_FLUSH_BYTES = 4 * 1024 * 1024;

/** Records written to the active segment, awaiting the fsync that covers them. */
interface WrittenChunk {
  readonly appends: readonly PendingAppend[];
  readonly entries: readonly SpoolEntry[];
  /** Their bytes in the segment: [start, end). */
  readonly start: number;
  readonly end: number;
}

/**
 * The append path, two stages in a row. Appends queue up; the writer writes what is queued as
 * one group (one `writev`), and the next group as soon as that write returned — it does not wait
 * for fsyncs. The syncer runs one fsync at a time; each covers every group written before it
 * began, and when it returns those appends resolve, in order. So appends arriving during an
 * fsync are written at once (readers of written records see them while it runs) and made
 * durable together by the next fsync. Seqs are assigned when a group is written, so a failed
 * write leaves no gap. A new segment is started only once everything written is durable.
 *
 * Failures: a failed write is cut off again (ftruncate to where it began) and its group is
 * refused with SPOOL_IO_UNAVAILABLE; the spool goes on. A failed fsync leaves the file in an
 * unknown state (the kernel may have dropped the dirty pages), so its groups, every group written
 * after them and every later append are refused until the spool is reopened and its tail verified.
 */
export class GroupCommitWriter {
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  /** Bytes accepted and not yet durable (queued, written or being written). */
  private reserved = 0;
  private unresolved = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The write loop, while it runs. */
  private running: Promise<void> | undefined;
  /** Written and not yet covered by an fsync that began, in file order. */
  private unsynced: WrittenChunk[] = [];
  /** The sync loop runs (a flag, set and cleared synchronously, so no written chunk is left behind). */
  private syncActive = false;
  private syncDone: Promise<void> = Promise.resolve();
  /** Bytes written to the active segment (durable or not). */
  private written: number;
  failure: OutpostError | undefined;
  appends = 0;
  fsyncs = 0;
  lastFsyncMs = 0;
  maxFsyncMs = 0;

  constructor(
    private readonly state: SpoolState,
    private active: SegmentState,
    private handle: FileHandle,
    private nextSeq: number,
    private readonly options: GroupCommitOptions,
  ) {
    this.written = active.size;
  }

  /** Bytes accepted and not yet durable. */
  get reservedBytes(): number {
    return this.reserved;
  }

  /** Appends accepted and not yet resolved or refused. */
  get pendingAppends(): number {
    return this.unresolved;
  }

  /** Queues an encoded record; resolves with its seq once durable (`onWritten` has it once written). */
  enqueue(record: EncodedRecord, onWritten?: (seq: number) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.unresolved += 1;
      this.pending.push({ record, onWritten, resolve, reject });
      this.pendingBytes += record.bytes.length;
      this.reserved += record.bytes.length;
      this.schedule();
    });
  }

  /** Writes and syncs everything queued now; resolves when nothing is queued, written or being synced. */
  async drain(): Promise<void> {
    while (this.running || this.syncActive || this.pending.length > 0) {
      this.cancelWait();
      if (this.pending.length > 0) this.running ??= this.run();
      if (this.running) await this.running;
      else await this.syncDone;
    }
  }

  async close(): Promise<void> {
    await this.drain();
    await this.handle.close();
  }

  private schedule(): void {
    if (this.running) return;
    if (this.pendingBytes >= EARLY_FLUSH_BYTES) {
      this.cancelWait();
      this.running = this.run();
      return;
    }
    if (this.options.groupCommitMs === 0) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.running ??= this.run();
      });
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.running ??= this.run();
    }, this.options.groupCommitMs);
  }

  private cancelWait(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const group = this.pending.splice(0);
        for (const append of group) this.pendingBytes -= append.record.bytes.length;
        await this.writeGroup(group);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    let next = 0;
    while (next < group.length) {
      if (this.failure) return this.refuse(group.slice(next), this.failure);
      const first = group[next];
      if (first === undefined) return;
      if (this.written > 0 && this.written + first.record.bytes.length > this.options.segmentBytes) {
        // The active segment is closed only once all of it is durable.
        while (this.syncActive) await this.syncDone;
        if (this.failure) return this.refuse(group.slice(next), this.failure);
        try {
          await this.roll();
        } catch (error) {
          return this.refuse(group.slice(next), this.ioError('could not start a new spool segment', error));
        }
      }
      let bytes = 0;
      const chunk: PendingAppend[] = [];
      for (let append = group[next]; append !== undefined; append = group[next]) {
        const size = append.record.bytes.length;
        if (chunk.length > 0 && this.written + bytes + size > this.options.segmentBytes) break;
        chunk.push(append);
        bytes += size;
        next += 1;
      }
      const ok = await this.writeChunk(chunk, bytes);
      if (!ok) return this.refuse(group.slice(next), this.failure ?? this.ioError('an earlier write of this group failed'));
    }
  }

  /** One write for records that fit the active segment; the syncer makes them durable. */
  private async writeChunk(chunk: PendingAppend[], bytes: number): Promise<boolean> {
    const firstSeq = this.nextSeq;
    for (const append of chunk) sealRecord(append.record, this.nextSeq++);
    const start = this.written;
    try {
      // The records' own buffers, gathered by the kernel (issue 12): joining a group of up to
      // 4 MiB first cost a fresh allocation, its page faults and a copy, per group commit.
      await this.writeAll(
        chunk.map((append) => append.record.bytes),
        start,
      );
    } catch (error) {
      this.nextSeq = firstSeq;
      const refusal = this.ioError(`writing to ${this.active.path} failed`, error);
      try {
        await this.handle.truncate(start);
      } catch (truncateError) {
        this.fail(truncateError);
      }
      this.refuse(chunk, refusal);
      return false;
    }
    // An fsync failed while this was written: the file's state is unknown from there on.
    if (this.failure) {
      this.refuse(chunk, this.failure);
      return false;
    }
    this.written = start + bytes;
    // Written (in the kernel's page cache: a crash of the process no longer loses it): readers
    // that take written records get the group now, while the fsyncs run.
    const entries: SpoolEntry[] = [];
    let seq = firstSeq;
    for (const append of chunk) {
      const { bytes: recordBytes, receivedAt, deviceId } = append.record;
      const idEnd = RECORD_HEADER_BYTES + (recordBytes[3] ?? 0);
      append.onWritten?.(seq);
      entries.push({ seq: seq++, deviceId, receivedAt, payload: recordBytes.subarray(idEnd) });
    }
    this.unsynced.push({ appends: chunk, entries, start, end: this.written });
    this.state.written = this.state.written.length === 0 ? entries : this.state.written.concat(entries);
    if (this.state.writtenReaders > 0) this.state.notify();
    if (!this.syncActive) {
      this.syncActive = true;
      this.syncDone = this.syncLoop();
    }
    return true;
  }

  /** One fsync at a time, each covering every chunk written before it began. */
  private async syncLoop(): Promise<void> {
    try {
      while (this.unsynced.length > 0) {
        if (this.failure) {
          for (const chunk of this.unsynced.splice(0)) this.refuse(chunk.appends, this.failure);
          return;
        }
        const covered = this.unsynced.splice(0);
        const began = performance.now();
        try {
          await this.options.sync(this.handle);
        } catch (error) {
          this.fail(error);
          for (const chunk of covered) this.refuse(chunk.appends, this.failure ?? this.ioError('fsync failed', error));
          return;
        }
        this.lastFsyncMs = performance.now() - began;
        this.maxFsyncMs = Math.max(this.maxFsyncMs, this.lastFsyncMs);
        this.fsyncs += 1;
        for (const chunk of covered) this.settle(chunk);
        const written = this.state.written;
        let durable = 0;
        while (durable < written.length && (written[durable]?.seq ?? Number.POSITIVE_INFINITY) <= this.state.lastSeq) durable += 1;
        this.state.written = durable === written.length ? [] : written.slice(durable);
        // Readers of written records may have been handed these already.
        if (this.state.writtenReaders > 0) this.state.releaseDelivered();
        this.state.notify();
      }
    } finally {
      this.syncActive = false;
    }
  }

  /** A chunk is durable: indexed, in the tail cache, its appends resolved in order. */
  private settle(chunk: WrittenChunk): void {
    let offset = chunk.start;
    for (let i = 0; i < chunk.entries.length; i++) {
      const entry = chunk.entries[i] as SpoolEntry;
      const size = (chunk.appends[i] as PendingAppend).record.bytes.length;
      this.state.index.offer({ seq: entry.seq, base: this.active.base, offset, at: entry.receivedAt });
      // Durable now: readers that keep up take it from memory, the bytes the file holds.
      this.state.tail.add(entry, size);
      offset += size;
    }
    this.active.size = chunk.end;
    this.state.lastSeq = chunk.entries[chunk.entries.length - 1]?.seq ?? this.state.lastSeq;
    this.reserved -= chunk.end - chunk.start;
    this.appends += chunk.appends.length;
    this.unresolved -= chunk.appends.length;
    for (let i = 0; i < chunk.appends.length; i++) (chunk.appends[i] as PendingAppend).resolve((chunk.entries[i] as SpoolEntry).seq);
  }

  /** Writes every buffer at `position` and on; a short write goes on where it stopped. */
  private async writeAll(buffers: readonly Buffer[], position: number): Promise<void> {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, at);
      if (bytesWritten <= 0) throw new Error(`the file took none of ${String(pending.reduce((sum, buffer) => sum + buffer.length, 0))} bytes`);
      at += bytesWritten;
      let left = bytesWritten;
      let first = 0;
      while (first < pending.length && left >= (pending[first]?.length ?? 0)) left -= pending[first++]?.length ?? 0;
      const rest = pending.slice(first);
      if (left > 0 && rest[0] !== undefined) rest[0] = rest[0].subarray(left);
      pending = rest;
    }
  }

  /** The active segment is durable (every chunk is fsynced before this): start the next one. */
  private async roll(): Promise<void> {
    const base = this.nextSeq;
    const path = this.state.segmentPath(base);
    const handle = await open(path, 'w+', 0o600);
    try {
      await syncDirectory(this.state.dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    await this.handle.close();
    this.handle = handle;
    this.active = { base, path, size: 0 };
    this.written = 0;
    this.state.segments.push(this.active);
    this.state.notify();
  }

  private refuse(appends: readonly PendingAppend[], error: OutpostError): void {
    for (const append of appends) {
      this.reserved -= append.record.bytes.length;
      this.unresolved -= 1;
      append.reject(error);
    }
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = this.ioError('the spool could not make its writes durable; appends are refused until it is reopened', cause);
    this.state.log?.error({ err: this.failure, code: this.failure.code, file: this.active.path }, 'spool: fsync failed');
    const queued = this.pending.splice(0);
    this.pendingBytes = 0;
    this.refuse(queued, this.failure);
    for (const chunk of this.unsynced.splice(0)) this.refuse(chunk.appends, this.failure);
    this.state.written = [];
    this.state.notify();
  }

  private ioError(message: string, cause?: unknown): OutpostError {
    return spoolError('SPOOL_IO_UNAVAILABLE', message, { cause, details: { file: this.active.path } });
  }
}
