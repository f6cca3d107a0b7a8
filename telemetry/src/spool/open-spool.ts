import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { OutpostError } from '@outpost/protocol';
import { concatMap, from, throwError, type Observable } from 'rxjs';
import { CursorFile, readCursorFile, removeStaleCursorTemps } from './cursor-file.js';
import { GroupCommitWriter } from './group-commit-writer.js';
import { acquireLock, type LockFile } from './lock-file.js';
import { readBatchesOf } from './read-batches.js';
import { encodeRecord, MAX_DEVICE_ID_BYTES, MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES } from './record-format.js';
import { inspectClosedSegment, recoverTail } from './recover-segments.js';
import { ensureDirectory, listSegmentBases, syncDirectory } from './segment-files.js';
import { spoolError } from './spool-errors.js';
import { resolveSpoolOptions, type ResolvedSpoolOptions } from './spool-options.js';
import { SpoolState } from './spool-state.js';
import { spoolStats } from './spool-stats.js';
import type {
  Spool,
  SpoolAppendResult,
  SpoolDeps,
  SpoolEntry,
  SpoolOptions,
  SpoolReadOptions,
  SpoolRecord,
  SpoolStats,
} from './spool-types.js';

/**
 * Opens (creating when missing) the ingest spool in `options.dir`: takes its lock, reads the
 * consumers' cursors, cuts a torn tail, deletes segments every consumer has passed, and is ready
 * to append. See docs/adr/0003-ingest-spool.md.
 */
export async function openSpool(options: SpoolOptions, deps: SpoolDeps = {}): Promise<Spool> {
  const config = resolveSpoolOptions(options);
  const cursorsDir = path.join(config.dir, 'cursors');
  await ensureDirectory(config.dir);
  await ensureDirectory(cursorsDir);
  const lock = await acquireLock(path.join(config.dir, 'LOCK'));
  try {
    return await openLocked(config, cursorsDir, lock, deps);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function openLocked(config: ResolvedSpoolOptions, cursorsDir: string, lock: LockFile, deps: SpoolDeps): Promise<Spool> {
  const state = new SpoolState(config.dir, deps.log, config.tailCacheBytes);
  await removeStaleCursorTemps(cursorsDir);
  const cursors = new Map<string, number | undefined>();
  for (const consumer of config.consumers) {
    const read = await readCursorFile(cursorsDir, consumer);
    if (read.kind === 'invalid') {
      deps.log?.error({ consumer, text: read.text }, 'spool: unreadable cursor file; the consumer replays from the oldest record');
    }
    cursors.set(consumer, read.kind === 'valid' ? read.seq : undefined);
  }
  const maxCursor = Math.max(0, ...[...cursors.values()].map((seq) => seq ?? 0));

  const bases = await listSegmentBases(config.dir);
  if (bases.length === 0) {
    const base = maxCursor + 1;
    await (await open(state.segmentPath(base), 'w', 0o600)).close();
    await syncDirectory(config.dir);
    bases.push(base);
  }
  for (const base of bases.slice(0, -1)) state.segments.push(await inspectClosedSegment(state, base));
  const tail = await recoverTail(state, bases[bases.length - 1] ?? 1);
  state.segments.push(tail.segment);
  if (maxCursor > tail.lastSeq) {
    deps.log?.warn({ maxCursor, lastSeq: tail.lastSeq }, 'spool: a cursor is ahead of the log; new records continue after it');
  }
  state.lastSeq = Math.max(tail.lastSeq, maxCursor);

  const oldest = (state.segments[0]?.base ?? 1) - 1;
  for (const [consumer, seq] of cursors) {
    state.requested.set(consumer, seq ?? oldest);
    state.persisted.set(consumer, seq ?? oldest);
  }
  const writer = new GroupCommitWriter(state, tail.segment, tail.handle, state.lastSeq + 1, {
    segmentBytes: config.segmentBytes,
    groupCommitMs: config.groupCommitMs,
    sync: deps.sync ?? ((handle: FileHandle) => handle.datasync()),
  });
  const spool = new OpenSpool(config, cursorsDir, state, writer, lock, deps, tail.truncatedBytes);
  await spool.reclaim();
  spool.checkPressure();
  return spool;
}

class OpenSpool implements Spool {
  private closing: Promise<void> | undefined;
  private refusedFull = 0;
  private pressure: 'ok' | 'near-full' | 'full' = 'ok';
  private readonly commits = new Map<string, Promise<void>>();
  private readonly cursorFiles = new Map<string, CursorFile>();
  /** When each consumer's cursor file was last written (performance.now()). */
  private readonly lastPersist = new Map<string, number>();
  private reclaiming: Promise<void> = Promise.resolve();
  private readonly readers = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly config: ResolvedSpoolOptions,
    private readonly cursorsDir: string,
    private readonly state: SpoolState,
    private readonly writer: GroupCommitWriter,
    private readonly lock: LockFile,
    private readonly deps: SpoolDeps,
    private readonly truncatedBytes: number,
  ) {
    const clock = deps.clock;
    this.now = clock ? () => clock.now() : Date.now;
  }

  get dir(): string {
    return this.config.dir;
  }

  append(record: SpoolRecord): Promise<SpoolAppendResult> {
    if (this.closing) return Promise.reject(spoolError('SPOOL_CLOSED', 'the spool is closed'));
    if (this.writer.failure) return Promise.reject(this.writer.failure);
    const deviceId = Buffer.from(record.deviceId, 'utf8');
    const payload = typeof record.payload === 'string' ? Buffer.from(record.payload, 'utf8') : record.payload;
    const receivedAt = Math.round(record.receivedAt ?? this.now());
    const problem =
      deviceId.length > MAX_DEVICE_ID_BYTES
        ? `the device id is longer than ${MAX_DEVICE_ID_BYTES} bytes`
        : payload.length > MAX_RECORD_PAYLOAD_BYTES || payload.length > this.config.maxBytes - this.config.segmentBytes
          ? 'the payload is larger than the spool can ever hold'
          : !Number.isSafeInteger(receivedAt) || receivedAt < 0
            ? 'receivedAt is not an epoch time in milliseconds'
            : undefined;
    if (problem) return Promise.reject(spoolError('SPOOL_RECORD_INVALID', problem, { details: { deviceId: record.deviceId.slice(0, 80) } }));
    const bytes = this.bytes();
    if (bytes + RECORD_HEADER_BYTES + deviceId.length + payload.length > this.config.maxBytes) {
      this.refusedFull += 1;
      this.setPressure('full');
      return Promise.reject(
        spoolError('SPOOL_FULL_UNAVAILABLE', `the ingest spool is full (${bytes} of ${this.config.maxBytes} bytes); retry later`, {
          details: { bytes, maxBytes: this.config.maxBytes },
        }),
      );
    }
    const seq = this.writer.enqueue(encodeRecord(record.deviceId, deviceId, payload, receivedAt), record.onWritten).then((value) => ({ seq: value }));
    this.checkPressure();
    return seq;
  }

  read(consumer: string, options: SpoolReadOptions = {}): Observable<SpoolEntry> {
    return this.readBatches(consumer, options).pipe(concatMap((batch) => from(batch)));
  }

  readBatches(consumer: string, options: SpoolReadOptions = {}): Observable<readonly SpoolEntry[]> {
    const unknown = this.unknownConsumer(consumer);
    if (unknown) return throwError(() => unknown);
    return readBatchesOf(this.state, consumer, options, (done) => {
      this.readers.add(done);
      void done.finally(() => this.readers.delete(done));
    });
  }

  commit(consumer: string, seq: number): Promise<void> {
    const unknown = this.unknownConsumer(consumer);
    if (unknown) return Promise.reject(unknown);
    if (this.state.closed) return Promise.reject(spoolError('SPOOL_CLOSED', 'the spool is closed'));
    // A reader of written records commits what it handled; the cursor follows once it is durable.
    if (Number.isSafeInteger(seq) && seq > this.state.lastSeq && seq <= this.state.writtenSeq) {
      return this.durableThrough(seq).then(() => this.commit(consumer, seq));
    }
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.state.lastSeq) {
      return Promise.reject(
        spoolError('SPOOL_CURSOR_INVALID', `cannot commit ${String(seq)} for ${consumer}: the durable end is ${this.state.lastSeq}`),
      );
    }
    if (seq > (this.state.requested.get(consumer) ?? 0)) {
      this.state.requested.set(consumer, seq);
      this.state.notify();
    }
    const run = (this.commits.get(consumer) ?? Promise.resolve()).then(() => this.persist(consumer));
    this.commits.set(
      consumer,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Resolves once `seq` is durable, the fsync covering it failed (the written records are dropped), or the spool closed. */
  private durableThrough(seq: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const subscription = this.state.changes.subscribe(() => {
        if (this.state.lastSeq < seq && this.state.writtenSeq >= seq && !this.state.closed) return;
        subscription.unsubscribe();
        resolve();
      });
    });
  }

  committed(consumer: string): number {
    const unknown = this.unknownConsumer(consumer);
    if (unknown) throw unknown;
    return this.state.requested.get(consumer) ?? 0;
  }

  stats(): SpoolStats {
    return spoolStats(this.state, this.writer, {
      maxBytes: this.config.maxBytes,
      nearFull: this.bytes() >= this.config.nearFullRatio * this.config.maxBytes,
      refusedFull: this.refusedFull,
      truncatedBytes: this.truncatedBytes,
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Deletes the segments every consumer's persisted cursor has passed (never the active one). */
  reclaim(): Promise<void> {
    const run = this.reclaiming.then(async () => {
      const floor = Math.min(...this.config.consumers.map((consumer) => this.state.persisted.get(consumer) ?? 0));
      let deleted = 0;
      for (let next = this.state.segments[1]; next !== undefined && next.base - 1 <= floor; next = this.state.segments[1]) {
        const gone = this.state.segments.shift();
        if (!gone) break;
        this.state.index.dropBefore(next.base);
        await unlink(gone.path).catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        });
        deleted += 1;
      }
      if (deleted > 0) {
        await syncDirectory(this.config.dir);
        this.checkPressure();
        this.state.notify();
      }
    });
    this.reclaiming = run.catch(() => undefined);
    return run;
  }

  private async persist(consumer: string): Promise<void> {
    if ((this.state.requested.get(consumer) ?? 0) <= (this.state.persisted.get(consumer) ?? 0)) return;
    // At most one cursor write per cursorSyncMs: what is committed meanwhile goes with it.
    const wait = (this.lastPersist.get(consumer) ?? Number.NEGATIVE_INFINITY) + this.config.cursorSyncMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const target = this.state.requested.get(consumer) ?? 0;
    if (target <= (this.state.persisted.get(consumer) ?? 0)) return;
    this.lastPersist.set(consumer, performance.now());
    let file = this.cursorFiles.get(consumer);
    if (file === undefined) this.cursorFiles.set(consumer, (file = new CursorFile(this.cursorsDir, consumer)));
    await file.write(target);
    this.state.persisted.set(consumer, target);
    await this.reclaim();
  }

  private async shutdown(): Promise<void> {
    try {
      await this.writer.drain();
      await Promise.allSettled([...this.commits.values(), this.reclaiming]);
    } finally {
      this.state.closed = true;
      this.state.notify();
      await Promise.allSettled([...this.readers]);
      this.state.changes.complete();
      await this.writer.close().catch(() => undefined);
      await Promise.allSettled([...this.cursorFiles.values()].map((file) => file.close()));
      await this.lock.release();
    }
  }

  private bytes(): number {
    return this.state.bytes + this.writer.reservedBytes;
  }

  private unknownConsumer(name: string): OutpostError | undefined {
    if (!this.config.consumers.includes(name)) {
      return spoolError('SPOOL_CONSUMER_NOT_FOUND', `no spool consumer named ${JSON.stringify(name)}`, {
        details: { consumers: this.config.consumers },
      });
    }
    return undefined;
  }

  /** At open, after an accepted append or a reclamation: near-full or ok by the bytes held. */
  checkPressure(): void {
    const bytes = this.bytes();
    this.setPressure(bytes >= this.config.nearFullRatio * this.config.maxBytes ? 'near-full' : 'ok');
  }

  /** Logs transitions only: entering near-full and full loudly, leaving them once. */
  private setPressure(next: 'ok' | 'near-full' | 'full'): void {
    if (next === this.pressure) return;
    const previous = this.pressure;
    this.pressure = next;
    const context = { bytes: this.bytes(), maxBytes: this.config.maxBytes, previous };
    if (next === 'full') this.deps.log?.error(context, 'spool: full; telemetry is not acknowledged until consumers catch up');
    else if (next === 'near-full' && previous === 'ok') this.deps.log?.warn(context, 'spool: near its bound; is the telemetry store down?');
    else if (previous === 'full') this.deps.log?.info(context, 'spool: accepting telemetry again');
    else this.deps.log?.info(context, 'spool: back under its near-full threshold');
  }
}
