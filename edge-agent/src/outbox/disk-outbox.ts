/** The Outbox over a directory of segment files and an ack journal (design: open-outbox.ts). */
import { open, readFile, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { encodePayload } from '@outpost/protocol';
import type { TelemetrySample } from '@outpost/protocol';
import type { AckJournal } from './ack-journal.js';
import { CommitQueue } from './commit-queue.js';
import type { DirectoryLock } from './dir-files.js';
import { segmentFileName, syncDirectory } from './dir-files.js';
import { JournalKind } from './journal-format.js';
import type { JournalRecord } from './journal-format.js';
import { Mutex } from './mutex.js';
import { PayloadCache } from './payload-cache.js';
import { outboxError } from './outbox-errors.js';
import type { FsyncPolicy, Outbox, OutboxEntry, OutboxLog, OutboxStats } from './outbox-types.js';
import type { StagingLog } from './staging-log.js';
import type { StagedRecord } from './staging-format.js';
import { decodeHeader, encodeRecord, payloadMatches, RECORD_HEADER_BYTES } from './record-format.js';
import { EntryState, Segment } from './segment.js';
import { findSegment, neededFacts } from './segment-set.js';

export interface DiskOutboxConfig {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly fsync: FsyncPolicy;
  readonly groupCommitMs: number;
  readonly cacheBytes: number;
  /** After the first drop by the bound is logged, further drops are logged at most this often. */
  readonly dropWarnIntervalMs: number;
  readonly stagingCompactBytes: number;
  readonly now: () => number;
  readonly log: OutboxLog | undefined;
}

export interface DiskOutboxState {
  readonly segments: Segment[];
  readonly activeHandle: FileHandle;
  readonly nextSeq: number;
  readonly dropThrough: number;
  readonly dropped: number;
  readonly droppedSamples: number;
  readonly refused: number;
  readonly truncatedBytes: number;
  readonly corruptBytes: number;
}

interface PendingRecord {
  readonly seq: number;
  readonly createdAt: number;
  readonly payload: Buffer;
  readonly bytes: Buffer;
  readonly samples: number;
}

/** Compact the journal once it holds this many records and twice what is still needed. */
const COMPACT_AFTER_RECORDS = 4096;

export class DiskOutbox implements Outbox {
  private readonly mutex = new Mutex();
  private readonly queue: CommitQueue<PendingRecord>;
  private readonly segments: Segment[];
  private active: Segment;
  private activeHandle: FileHandle;
  private nextSeq: number;
  private dropThrough: number;
  private readonly cache: PayloadCache;
  private bytes: number;
  private depth = 0;
  private entries = 0;
  private appended = 0;
  private acked = 0;
  private dropped: number;
  private droppedSamples: number;
  private refused: number;
  /** The samples of the open batch (staged, not sealed yet); its seq will be `nextSeq`. */
  private open: TelemetrySample[] = [];
  /** Drops by the bound not logged yet (the warning is rate-limited), and when the last warning went out. */
  private unreported = { batches: 0, samples: 0 };
  private lastDropWarning: number | undefined;
  /** The same for drops because the disk is full. */
  private noSpace: { batches: number; samples: number; lastWarning: number | undefined } = { batches: 0, samples: 0, lastWarning: undefined };
  private readonly truncatedBytes: number;
  private readonly corruptBytes: number;
  private failed: string | undefined;
  private closed = false;
  private compacting = false;
  private readonly maxRecordBytes: number;

  constructor(
    private readonly config: DiskOutboxConfig,
    private readonly journal: AckJournal,
    private readonly lock: DirectoryLock,
    private readonly staging: StagingLog,
    state: DiskOutboxState,
  ) {
    this.segments = state.segments;
    const active = state.segments[state.segments.length - 1];
    if (active === undefined) throw new Error('an outbox needs an active segment');
    this.active = active;
    this.activeHandle = state.activeHandle;
    this.nextSeq = state.nextSeq;
    this.dropThrough = state.dropThrough;
    this.dropped = state.dropped;
    this.droppedSamples = state.droppedSamples;
    this.refused = state.refused;
    this.truncatedBytes = state.truncatedBytes;
    this.corruptBytes = state.corruptBytes;
    this.bytes = state.segments.reduce((sum, segment) => sum + segment.size, 0);
    for (const segment of state.segments) {
      this.depth += segment.pending;
      this.entries += segment.seqs.length;
    }
    this.maxRecordBytes = Math.floor(config.maxBytes / 4);
    this.cache = new PayloadCache(config.cacheBytes);
    this.queue = new CommitQueue(config.fsync, config.groupCommitMs, (records) => this.mutex.run(() => this.writeRecords(records)));
  }

  async append(samples: readonly TelemetrySample[]): Promise<OutboxEntry> {
    this.checkOpen();
    if (!Array.isArray(samples) || samples.length === 0) throw outboxError('OUTBOX_BATCH_INVALID', 'a batch needs at least one sample');
    if (this.open.length > 0) throw outboxError('OUTBOX_BATCH_OPEN', `a batch of ${this.open.length} staged samples is open: seal it before appending another`);
    const record = this.encode(this.nextSeq, samples);
    if (record.bytes.length > this.maxRecordBytes) {
      throw outboxError('OUTBOX_RECORD_TOO_LARGE', `a batch of ${record.payload.length} bytes exceeds a quarter of the outbox bound (${this.maxRecordBytes} bytes)`, {
        details: { payloadBytes: record.payload.length, maxRecordBytes: this.maxRecordBytes },
      });
    }
    this.nextSeq = record.seq + 1;
    await this.queue.submit(record);
    return { seq: record.seq, payload: record.payload, createdAt: record.createdAt };
  }

  stage(sample: TelemetrySample): Promise<void> {
    this.checkOpen();
    this.open.push(sample);
    // A full disk: the sample stays in the open batch in memory (only a power cut before its seal loses it).
    return this.staging.stage(this.nextSeq, Buffer.from(JSON.stringify(sample), 'utf8')).catch((error: unknown) => {
      if (!isNoSpace(error)) throw error;
      this.warnNoSpace('staging', 0, 0);
    });
  }

  async seal(): Promise<readonly OutboxEntry[]> {
    this.checkOpen();
    if (this.open.length === 0) return [];
    const samples = this.open;
    this.open = [];
    return this.commitStaged(samples);
  }

  /**
   * Cuts staged samples into records (seqs from `nextSeq` on; more than one record only when the
   * batch is larger than a record may be), writes them, then lets the staging log forget them.
   * A failed write stops appends until the outbox is reopened: the staged copies then become
   * the batch again.
   */
  private async commitStaged(samples: readonly TelemetrySample[]): Promise<readonly OutboxEntry[]> {
    const records = this.planRecords(samples);
    const last = records[records.length - 1];
    this.nextSeq = (last?.seq ?? this.nextSeq) + 1;
    try {
      await Promise.all(records.map((record) => this.queue.submit(record)));
    } catch (error) {
      this.failed ??= (error as Error).message;
      throw error;
    }
    await this.staging.sealed(this.nextSeq - 1);
    return records.map((record) => ({ seq: record.seq, payload: record.payload, createdAt: record.createdAt }));
  }

  /** Records for `samples` from `nextSeq` on, halving a batch too large for one record; a lone sample too large is dropped (counted, logged). */
  private planRecords(samples: readonly TelemetrySample[]): PendingRecord[] {
    const records: PendingRecord[] = [];
    const plan = (part: readonly TelemetrySample[]): void => {
      const record = this.encode(this.nextSeq + records.length, part);
      if (record.bytes.length <= this.maxRecordBytes) {
        records.push(record);
      } else if (part.length > 1) {
        const half = Math.ceil(part.length / 2);
        plan(part.slice(0, half));
        plan(part.slice(half));
      } else {
        this.droppedSamples += 1;
        this.config.log?.error({ payloadBytes: record.payload.length, maxRecordBytes: this.maxRecordBytes }, 'outbox: a sample larger than a quarter of the outbox bound was dropped');
      }
    };
    plan(samples);
    return records;
  }

  /** Seals what a crash left staged (at open): each tag the outbox does not hold yet becomes its batch. */
  async recoverStaged(staged: readonly StagedRecord[]): Promise<{ batches: number; samples: number }> {
    const byTag = new Map<number, TelemetrySample[]>();
    for (const record of staged) {
      if (record.tag < this.nextSeq) continue; // its batch is in a segment (or was acked or dropped since)
      let sample: TelemetrySample;
      try {
        sample = JSON.parse(record.payload.toString('utf8')) as TelemetrySample;
      } catch {
        this.config.log?.error({ tag: record.tag }, 'outbox: a staged sample is not JSON; dropped');
        continue;
      }
      const group = byTag.get(record.tag) ?? [];
      group.push(sample);
      byTag.set(record.tag, group);
    }
    let batches = 0;
    let samples = 0;
    for (const tag of [...byTag.keys()].sort((a, b) => a - b)) {
      const group = byTag.get(tag) ?? [];
      this.nextSeq = Math.max(this.nextSeq, tag);
      batches += (await this.commitStaged(group)).length;
      samples += group.length;
    }
    await this.staging.compact();
    return { batches, samples };
  }

  private checkOpen(): void {
    if (this.closed) throw outboxError('OUTBOX_CLOSED', 'the outbox is closed');
    if (this.failed !== undefined) throw outboxError('OUTBOX_IO_UNAVAILABLE', `the outbox stopped after a failed write: ${this.failed}`);
  }

  private encode(seq: number, samples: readonly TelemetrySample[]): PendingRecord {
    const createdAt = this.config.now();
    const payload = Buffer.from(encodePayload('TelemetryBatch', { v: 1, seq, samples: [...samples] }), 'utf8');
    return { seq, createdAt, payload, bytes: encodeRecord(seq, createdAt, payload), samples: samples.length };
  }

  peek(max: number, maxBytes?: number): Promise<readonly OutboxEntry[]> {
    if (!(max >= 1) || this.depth === 0) return Promise.resolve([]);
    return this.mutex.run(async () => {
      const found: OutboxEntry[] = [];
      let payloadBytes = 0;
      for (const segment of [...this.segments]) {
        for (let index = segment.head; index < segment.seqs.length && found.length < max; index += 1) {
          if (segment.states[index] !== EntryState.pending) continue;
          const length = (segment.lengths[index] ?? 0) - RECORD_HEADER_BYTES;
          if (maxBytes !== undefined && payloadBytes + length > maxBytes) return found;
          const payload = await this.readPayload(segment, index);
          if (payload === undefined) continue;
          found.push({ seq: segment.seqs[index] ?? 0, payload, createdAt: segment.createdAts[index] ?? 0 });
          payloadBytes += length;
        }
        if (found.length >= max) break;
      }
      return found;
    });
  }

  ack(seq: number): Promise<void> {
    return this.settle(seq, EntryState.acked, undefined);
  }

  refuse(seq: number, reason: string): Promise<void> {
    return this.settle(seq, EntryState.refused, reason);
  }

  stats(): OutboxStats {
    return {
      depth: this.depth,
      bytes: this.bytes,
      dropped: this.dropped,
      droppedSamples: this.droppedSamples,
      refused: this.refused,
      open: this.open.length,
      maxBytes: this.config.maxBytes,
      appended: this.appended,
      acked: this.acked,
      truncatedBytes: this.truncatedBytes,
      segments: this.segments.length,
      corruptBytes: this.corruptBytes,
      ...(this.failed === undefined ? {} : { failed: this.failed }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain();
    await this.staging.close();
    await this.journal.close();
    await this.mutex.run(async () => {
      if (this.config.fsync === 'none') await this.activeHandle.datasync().catch(() => undefined);
      await this.activeHandle.close();
      for (const segment of this.segments) await segment.reader?.close();
    });
    await this.lock.release();
  }

  private async settle(seq: number, state: EntryState, reason: string | undefined): Promise<void> {
    if (this.closed) throw outboxError('OUTBOX_CLOSED', 'the outbox is closed');
    const segment = findSegment(this.segments, seq);
    const index = segment?.indexOf(seq) ?? -1;
    if (segment === undefined || index < 0 || !segment.settle(index, state)) return;
    this.depth -= 1;
    this.cache.delete(seq);
    let record: JournalRecord;
    if (state === EntryState.refused) {
      this.refused += 1;
      record = { kind: JournalKind.refused, seq, total: this.refused };
      this.config.log?.warn({ seq, reason }, 'outbox: the platform refused a batch for good; it is not resent');
    } else {
      this.acked += 1;
      record = { kind: JournalKind.acked, seq, total: 0 };
    }
    await this.journal.append(record);
    if (segment !== this.active && segment.pending === 0) await this.mutex.run(() => this.reclaim(segment));
    await this.maybeCompact();
  }

  /** Writes one commit group: rolls segments, enforces the bound (dropping the oldest), syncs per policy. */
  private async writeRecords(records: readonly PendingRecord[]): Promise<void> {
    if (this.failed !== undefined) throw outboxError('OUTBOX_IO_UNAVAILABLE', `the outbox stopped after a failed fsync: ${this.failed}`);
    let run: PendingRecord[] = [];
    let runBytes = 0;
    const over = (length: number): boolean => this.bytes + runBytes + length > this.config.maxBytes;
    for (const record of records) {
      const length = record.bytes.length;
      if (this.active.size + runBytes > 0 && this.active.size + runBytes + length > this.config.segmentBytes) {
        await this.writeRun(run, runBytes);
        [run, runBytes] = [[], 0];
        await this.roll(record.seq);
      }
      while (over(length) && this.segments[0] !== this.active) await this.dropOldest();
      if (over(length)) {
        await this.writeRun(run, runBytes);
        [run, runBytes] = [[], 0];
        await this.roll(record.seq);
        while (over(length) && this.segments[0] !== this.active) await this.dropOldest();
      }
      run.push(record);
      runBytes += length;
    }
    await this.writeRun(run, runBytes);
  }

  private async writeRun(run: readonly PendingRecord[], runBytes: number): Promise<void> {
    if (run.length === 0) return;
    const segment = this.active;
    const start = segment.size;
    try {
      const { bytesWritten } = await this.activeHandle.writev(
        run.map((record) => record.bytes),
        start,
      );
      // A short write is what a disk filling up mid-write answers; the next write would fail with ENOSPC.
      if (bytesWritten < runBytes) throw Object.assign(new Error(`short write: ${bytesWritten} of ${runBytes} bytes`), { code: 'ENOSPC' });
    } catch (error) {
      await this.activeHandle.truncate(start).catch(() => undefined);
      if (isNoSpace(error)) return this.dropNoSpace(run);
      throw outboxError('OUTBOX_IO_UNAVAILABLE', `could not write to ${segment.file}: ${(error as Error).message}`, { cause: error });
    }
    segment.size = start + runBytes;
    this.bytes += runBytes;
    if (this.config.fsync !== 'none') {
      try {
        await this.activeHandle.datasync();
      } catch (error) {
        this.failed = (error as Error).message;
        this.config.log?.error({ err: error, file: segment.file }, 'outbox: fsync failed; appends are refused until the agent restarts');
        throw outboxError('OUTBOX_IO_UNAVAILABLE', `fsync of ${segment.file} failed: ${this.failed}`, { cause: error });
      }
    }
    let offset = start;
    for (const record of run) {
      segment.add(record.seq, offset, record.bytes.length, record.createdAt, EntryState.pending, record.samples);
      offset += record.bytes.length;
      this.depth += 1;
      this.entries += 1;
      this.appended += 1;
      this.cache.set(record.seq, record.payload);
    }
  }

  /** Seals the active segment and starts `base`'s. */
  private async roll(base: number): Promise<void> {
    const file = path.join(this.config.dir, segmentFileName(base));
    const handle = await open(file, 'wx+', 0o600);
    if (this.config.fsync !== 'none') await syncDirectory(this.config.dir);
    const previous = this.active;
    await this.activeHandle.close();
    this.activeHandle = handle;
    this.active = new Segment(base, file, 0);
    this.segments.push(this.active);
    if (previous.pending === 0) await this.reclaim(previous);
  }

  /**
   * The disk is full (ENOSPC, EDQUOT) before the bound is reached: the batches of this run were
   * not written (cut off again), so they are dropped and counted like drops by the bound; the
   * outbox goes on and stores again once there is room. The counts go to the journal when it
   * can be written (on the full disk they may stay in memory until the next journal write).
   */
  private async dropNoSpace(run: readonly PendingRecord[]): Promise<void> {
    const samples = run.reduce((sum, record) => sum + record.samples, 0);
    this.dropped += run.length;
    this.droppedSamples += samples;
    const last = run[run.length - 1];
    if (last !== undefined) {
      await this.journal
        .append({ kind: JournalKind.lost, seq: last.seq, total: this.dropped })
        .then(() => this.journal.append({ kind: JournalKind.droppedSamples, seq: last.seq, total: this.droppedSamples }))
        .catch(() => undefined);
    }
    this.warnNoSpace('segment', run.length, samples);
  }

  /** Like warnDropped, for a full disk: the first at once, later ones summed, at most every `dropWarnIntervalMs`. */
  private warnNoSpace(where: 'staging' | 'segment', batches: number, samples: number): void {
    this.noSpace.batches += batches;
    this.noSpace.samples += samples;
    const at = this.config.now();
    if (this.noSpace.lastWarning !== undefined && at - this.noSpace.lastWarning < this.config.dropWarnIntervalMs) return;
    this.config.log?.warn(
      { where, droppedBatches: this.noSpace.batches, droppedSamples: this.noSpace.samples, totalDroppedBatches: this.dropped, totalDroppedSamples: this.droppedSamples, dir: this.config.dir },
      'outbox disk full: new samples are dropped (counted) until there is room again',
    );
    this.noSpace = { batches: 0, samples: 0, lastWarning: at };
  }

  /** The bound is reached: the oldest segment goes, its pending entries counted as dropped. */
  private async dropOldest(): Promise<void> {
    const oldest = this.segments[0];
    if (oldest === undefined || oldest === this.active) return;
    const lost = oldest.pending;
    const through = oldest.lastSeq;
    if (lost > 0 && through !== undefined) {
      const lostSamples = await this.pendingSamples(oldest);
      // Durable before the data goes, so a crash cannot resurrect the entries nor lose the counts.
      await this.journal.appendDurable(
        { kind: JournalKind.droppedSamples, seq: through, total: this.droppedSamples + lostSamples },
        { kind: JournalKind.droppedThrough, seq: through, total: this.dropped + lost },
      );
      this.dropped += lost;
      this.droppedSamples += lostSamples;
      this.dropThrough = Math.max(this.dropThrough, through);
      this.depth -= lost;
      for (let index = oldest.head; index < oldest.seqs.length; index += 1) {
        if (oldest.settle(index, EntryState.dropped)) this.cache.delete(oldest.seqs[index] ?? 0);
      }
      this.warnDropped(lost, lostSamples);
    }
    await this.reclaim(oldest);
  }

  /** The first drop is logged at once; later ones are summed and logged at most every `dropWarnIntervalMs`. */
  private warnDropped(batches: number, samples: number): void {
    this.unreported.batches += batches;
    this.unreported.samples += samples;
    const at = this.config.now();
    if (this.lastDropWarning !== undefined && at - this.lastDropWarning < this.config.dropWarnIntervalMs) return;
    this.config.log?.warn(
      {
        droppedBatches: this.unreported.batches,
        droppedSamples: this.unreported.samples,
        totalDroppedBatches: this.dropped,
        totalDroppedSamples: this.droppedSamples,
        maxBytes: this.config.maxBytes,
        ...(this.lastDropWarning === undefined ? {} : { sinceMs: at - this.lastDropWarning }),
      },
      'outbox full: the oldest samples were dropped (raise outbox.maxBytes in agent.json or --outbox-max-bytes to keep more)',
    );
    this.lastDropWarning = at;
    this.unreported = { batches: 0, samples: 0 };
  }

  /** Samples in the pending entries of a segment (counts not known since open are read from disk). */
  private async pendingSamples(segment: Segment): Promise<number> {
    let total = 0;
    let bytes: Buffer | undefined;
    for (let index = segment.head; index < segment.seqs.length; index += 1) {
      if (segment.states[index] !== EntryState.pending) continue;
      const known = segment.samples[index] ?? -1;
      if (known >= 0) {
        total += known;
        continue;
      }
      bytes ??= await readFile(segment.file).catch(() => Buffer.alloc(0));
      const start = (segment.offsets[index] ?? 0) + RECORD_HEADER_BYTES;
      const end = (segment.offsets[index] ?? 0) + (segment.lengths[index] ?? 0);
      try {
        const parsed = JSON.parse(bytes.subarray(start, end).toString('utf8')) as { samples?: unknown };
        total += Array.isArray(parsed.samples) ? parsed.samples.length : 0;
      } catch {
        // unreadable since it was written: counted as a batch only
      }
    }
    return total;
  }

  /** Deletes a segment none of whose entries is pending (called under the mutex). */
  private async reclaim(segment: Segment): Promise<void> {
    const at = this.segments.indexOf(segment);
    if (at < 0 || segment === this.active || segment.pending > 0) return;
    this.segments.splice(at, 1);
    this.bytes -= segment.size;
    this.entries -= segment.seqs.length;
    await segment.reader?.close();
    segment.reader = undefined;
    await unlink(segment.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  private async readPayload(segment: Segment, index: number): Promise<Buffer | undefined> {
    const seq = segment.seqs[index] ?? 0;
    const cached = this.cache.get(seq);
    if (cached !== undefined) return cached;
    const length = segment.lengths[index] ?? 0;
    const offset = segment.offsets[index] ?? 0;
    const handle = segment === this.active ? this.activeHandle : (segment.reader ??= await open(segment.file, 'r'));
    const bytes = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(bytes, 0, length, offset);
    const header = bytesRead >= RECORD_HEADER_BYTES ? decodeHeader(bytes, 0) : undefined;
    const payload = bytes.subarray(RECORD_HEADER_BYTES, bytesRead);
    if (header !== undefined && header.seq === seq && payloadMatches(header, payload)) return payload;
    // Damaged on disk since it was written: it can never be sent as it was.
    segment.settle(index, EntryState.lost);
    this.depth -= 1;
    this.dropped += 1;
    this.config.log?.error({ seq, file: segment.file, offset }, 'outbox: a stored batch is damaged on disk and was dropped');
    await this.journal.append({ kind: JournalKind.lost, seq, total: this.dropped });
    if (segment.pending === 0) await this.reclaim(segment);
    return undefined;
  }

  private async maybeCompact(): Promise<void> {
    const needed = this.entries - this.depth + 3;
    if (this.compacting || this.journal.records < COMPACT_AFTER_RECORDS || this.journal.records < 2 * needed) return;
    this.compacting = true;
    try {
      await this.journal.compact(() => this.journalSnapshot());
    } finally {
      this.compacting = false;
    }
  }

  /** The facts still needed: how each settled entry on disk left, and the counters. */
  journalSnapshot(): readonly JournalRecord[] {
    return neededFacts(this.segments, {
      dropThrough: this.dropThrough,
      dropped: this.dropped,
      droppedSamples: this.droppedSamples,
      refused: this.refused,
      truncatedBytes: this.truncatedBytes,
    });
  }
}

/** The disk (or the user's quota) is full: a write that may succeed later. */
function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
