/**
 * The staging log (`staged.log`): the samples of the open batch, each written (and, under the
 * outbox's fsync policy, group-committed) as the pipeline lets go of it, so that a sample is
 * durable from the moment it is collected, not from the moment its batch is cut (ADR 0006).
 *
 * Each record carries a tag: the seq its batch will have. Once that batch's record is in a
 * segment, the staged copies are not needed (`sealed`); the log is compacted (the records still
 * needed written to a temporary file, synced, renamed over the log) when it has grown past
 * `compactBytes` and holds mostly settled records, and at every open. At open the outbox seals
 * the staged records whose tag it does not hold yet — so a sample is never lost between the
 * two files, nor stored in two batches.
 */
import { open, readFile, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CommitQueue } from './commit-queue.js';
import { syncDirectory } from './dir-files.js';
import { Mutex } from './mutex.js';
import type { FsyncPolicy, OutboxLog } from './outbox-types.js';
import { encodeStaged, scanStaged } from './staging-format.js';
import type { StagedRecord } from './staging-format.js';

export const STAGING_FILE = 'staged.log';
const DEFAULT_COMPACT_BYTES = 64 * 1024;

interface Written {
  readonly tag: number;
  readonly bytes: Buffer;
}

export class StagingLog {
  private readonly mutex = new Mutex();
  private readonly queue: CommitQueue<Written>;
  private readonly file: string;
  /** Records in the file whose batch may not be in a segment yet. */
  private live: Written[];
  private fileBytes: number;
  private sealedThrough = 0;
  private handle: FileHandle | undefined;

  private constructor(
    private readonly dir: string,
    private readonly policy: FsyncPolicy,
    lingerMs: number,
    live: Written[],
    fileBytes: number,
    private readonly compactBytes: number,
  ) {
    this.file = path.join(dir, STAGING_FILE);
    this.live = live;
    this.fileBytes = fileBytes;
    this.queue = new CommitQueue(policy, lingerMs, (records) => this.mutex.run(() => this.write(records)));
  }

  /**
   * Reads what the log holds (a torn tail is left out: it is cut by the compaction at open) and
   * opens it. Call `compact` before staging anything.
   */
  static async open(dir: string, policy: FsyncPolicy, lingerMs: number, log?: OutboxLog, compactBytes = DEFAULT_COMPACT_BYTES): Promise<{ staging: StagingLog; records: StagedRecord[] }> {
    const file = path.join(dir, STAGING_FILE);
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return Buffer.alloc(0);
      throw error;
    });
    const { records, validEnd } = scanStaged(bytes);
    if (validEnd < bytes.length) log?.warn({ file, offset: validEnd, bytes: bytes.length - validEnd }, 'outbox staging log: torn tail cut (a sample whose write never completed)');
    const live = records.map((record) => ({ tag: record.tag, bytes: encodeStaged(record.tag, record.payload) }));
    return { staging: new StagingLog(dir, policy, lingerMs, live, bytes.length, compactBytes), records };
  }

  /** Appends a sample of the batch that will be `tag`; resolves once written (and synced, per policy). */
  stage(tag: number, payload: Buffer): Promise<void> {
    return this.queue.submit({ tag, bytes: encodeStaged(tag, payload) });
  }

  /** Every batch up to `tag` is in a segment (durably, per policy): its staged samples may go. */
  async sealed(tag: number): Promise<void> {
    this.sealedThrough = Math.max(this.sealedThrough, tag);
    this.live = this.live.filter((record) => record.tag > this.sealedThrough);
    if (this.fileBytes < this.compactBytes) return;
    const needed = this.live.reduce((sum, record) => sum + record.bytes.length, 0);
    if (needed * 2 > this.fileBytes) return;
    // On a full disk the rewrite waits for the next seal (the log stays valid as it is).
    await this.compact().catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOSPC' && error.code !== 'EDQUOT') throw error;
    });
  }

  /** Rewrites the log with the records not sealed yet (via a synced temporary file and a rename). */
  compact(): Promise<void> {
    return this.mutex.run(async () => {
      const keep = this.live.filter((record) => record.tag > this.sealedThrough);
      const temporary = `${this.file}.tmp`;
      const fresh = await open(temporary, 'w', 0o600);
      try {
        await fresh.writeFile(Buffer.concat(keep.map((record) => record.bytes)));
        if (this.policy !== 'none') await fresh.datasync();
      } finally {
        await fresh.close();
      }
      await rename(temporary, this.file);
      if (this.policy !== 'none') await syncDirectory(this.dir);
      await this.handle?.close();
      this.handle = await open(this.file, 'a', 0o600);
      this.live = keep;
      this.fileBytes = keep.reduce((sum, record) => sum + record.bytes.length, 0);
    });
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.mutex.run(async () => {
      if (this.policy === 'none') await this.handle?.datasync().catch(() => undefined);
      await this.handle?.close();
      this.handle = undefined;
    });
  }

  private async write(records: readonly Written[]): Promise<void> {
    this.handle ??= await open(this.file, 'a', 0o600);
    const bytes = Buffer.concat(records.map((record) => record.bytes));
    const handle = this.handle;
    // A failed write (e.g. a full disk) may have written part: cut it off, so later records stay readable.
    const fail = async (error: unknown): Promise<never> => {
      await handle.truncate(this.fileBytes).catch(() => undefined);
      throw error;
    };
    const { bytesWritten } = await handle.write(bytes).catch(fail);
    if (bytesWritten < bytes.length) await fail(Object.assign(new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`), { code: 'ENOSPC' }));
    if (this.policy !== 'none') await this.handle.datasync();
    this.fileBytes += bytes.length;
    for (const record of records) if (record.tag > this.sealedThrough) this.live.push(record);
  }
}
