/**
 * The ack journal: durable "this entry is done" facts (acked, refused, dropped, lost) and the
 * lifetime counters, appended under the outbox's fsync policy and compacted (rewritten with only
 * the facts about entries still on disk) at open and when it grows.
 */
import { open, readFile, rename, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CommitQueue } from './commit-queue.js';
import { syncDirectory } from './dir-files.js';
import { decodeJournalRecord, encodeJournalRecords, JOURNAL_RECORD_BYTES, JournalKind } from './journal-format.js';
import type { JournalRecord } from './journal-format.js';
import { Mutex } from './mutex.js';
import type { FsyncPolicy, OutboxLog } from './outbox-types.js';

/** What replaying the journal tells. */
export interface JournalState {
  /** seq → how it left the outbox (acked, refused or lost). */
  readonly done: Map<number, JournalKind>;
  /** Every seq up to this one was dropped by the byte bound. */
  dropThrough: number;
  refused: number;
  dropped: number;
  /** Samples in the batches dropped by the bound. */
  droppedSamples: number;
  truncatedBytes: number;
  /** The largest seq the journal mentions (keeps seqs increasing when every segment is gone). */
  maxSeq: number;
}

export const JOURNAL_FILE = 'acks.log';

export class AckJournal {
  private readonly mutex = new Mutex();
  private readonly queue: CommitQueue<JournalRecord>;
  private recordCount = 0;

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
    private readonly policy: FsyncPolicy,
    lingerMs: number,
    recordCount: number,
  ) {
    this.recordCount = recordCount;
    this.queue = new CommitQueue(policy, lingerMs, (records) => this.mutex.run(() => this.write(records)));
  }

  /** Replays `dir/acks.log` (cutting a torn tail) and opens it for appending. */
  static async open(dir: string, policy: FsyncPolicy, lingerMs: number, log?: OutboxLog): Promise<{ journal: AckJournal; state: JournalState }> {
    const file = path.join(dir, JOURNAL_FILE);
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return Buffer.alloc(0);
      throw error;
    });
    const state: JournalState = { done: new Map(), dropThrough: 0, refused: 0, dropped: 0, droppedSamples: 0, truncatedBytes: 0, maxSeq: 0 };
    let validEnd = 0;
    let skipped = 0;
    let records = 0;
    for (let at = 0; at + JOURNAL_RECORD_BYTES <= bytes.length; at += JOURNAL_RECORD_BYTES) {
      const record = decodeJournalRecord(bytes, at);
      if (record === undefined) {
        skipped += 1;
        continue;
      }
      if (skipped > 0) {
        log?.error({ file, offset: at - skipped * JOURNAL_RECORD_BYTES, records: skipped }, 'outbox ack journal: damaged records skipped');
        skipped = 0;
      }
      validEnd = at + JOURNAL_RECORD_BYTES;
      records += 1;
      apply(state, record);
    }
    if (validEnd < bytes.length) {
      log?.warn({ file, bytes: bytes.length - validEnd }, 'outbox ack journal: torn tail cut');
      await truncate(file, validEnd);
    }
    const handle = await open(file, 'a', 0o600);
    return { journal: new AckJournal(dir, handle, policy, lingerMs, records), state };
  }

  /** Records on file (compaction trigger). */
  get records(): number {
    return this.recordCount;
  }

  /** Appends one fact; resolves when it is written (and synced, per policy). */
  append(record: JournalRecord): Promise<void> {
    return this.queue.submit(record);
  }

  /** Appends facts (in one write) and syncs them whatever the policy (used before data is deleted). */
  async appendDurable(...records: JournalRecord[]): Promise<void> {
    await Promise.all(records.map((record) => this.append(record)));
    if (this.policy === 'none') await this.mutex.run(() => this.handle.datasync());
  }

  /**
   * Replaces the journal with `records` (the facts still needed): written to a temporary file,
   * synced, renamed over the journal, directory synced. Facts appended meanwhile wait and then go
   * to the new file.
   */
  compact(records: () => readonly JournalRecord[]): Promise<void> {
    return this.mutex.run(async () => {
      const file = path.join(this.dir, JOURNAL_FILE);
      const temporary = `${file}.tmp`;
      const snapshot = records();
      const fresh = await open(temporary, 'w', 0o600);
      try {
        await fresh.writeFile(encodeJournalRecords(snapshot));
        await fresh.datasync();
      } finally {
        await fresh.close();
      }
      await rename(temporary, file);
      await syncDirectory(this.dir);
      await this.handle.close();
      this.handle = await open(file, 'a', 0o600);
      this.recordCount = snapshot.length;
    });
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.mutex.run(async () => {
      if (this.policy !== 'always') await this.handle.datasync();
      await this.handle.close();
    });
  }

  private async write(records: readonly JournalRecord[]): Promise<void> {
    await this.handle.write(encodeJournalRecords(records));
    if (this.policy !== 'none') await this.handle.datasync();
    this.recordCount += records.length;
  }
}

function apply(state: JournalState, record: JournalRecord): void {
  state.maxSeq = Math.max(state.maxSeq, record.seq);
  switch (record.kind) {
    case JournalKind.acked:
      state.done.set(record.seq, record.kind);
      break;
    case JournalKind.refused:
      if (record.seq > 0) state.done.set(record.seq, record.kind);
      state.refused = Math.max(state.refused, record.total);
      break;
    case JournalKind.lost:
      state.done.set(record.seq, record.kind);
      state.dropped = Math.max(state.dropped, record.total);
      break;
    case JournalKind.droppedThrough:
      state.dropThrough = Math.max(state.dropThrough, record.seq);
      state.dropped = Math.max(state.dropped, record.total);
      break;
    case JournalKind.truncated:
      state.truncatedBytes = Math.max(state.truncatedBytes, record.total);
      break;
    case JournalKind.droppedSamples:
      state.droppedSamples = Math.max(state.droppedSamples, record.total);
      break;
  }
}
