import type { FileHandle } from 'node:fs/promises';
import type { Observable } from 'rxjs';

/** One accepted telemetry batch, as the broker hands it over. */
export interface SpoolRecord {
  /** The publishing device (≤ 255 UTF-8 bytes). */
  readonly deviceId: string;
  /** The accepted batch, verbatim (the MQTT payload bytes). */
  readonly payload: Uint8Array | string;
  /** Arrival time, epoch ms; defaults to the spool's clock. */
  readonly receivedAt?: number;
  /**
   * Called with the record's seq once it is written, before any reader can take it (readers of
   * written records take it before the append resolves); never for a write that failed.
   */
  readonly onWritten?: (seq: number) => void;
}

/** A record as consumers read it: durable, or written and awaiting its fsync (SpoolReadOptions.written). */
export interface SpoolEntry {
  /** Strictly increasing across the spool's life (never reused, survives restarts). */
  readonly seq: number;
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly payload: Buffer;
}

export interface SpoolAppendResult {
  readonly seq: number;
}

export interface SpoolClock {
  now(): number;
}

/** The subset of pino's logger the spool uses (object first, message second). */
export interface SpoolLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface SpoolOptions {
  /** The spool directory (e.g. `${OUTPOST_DATA_DIR}/spool`); created when missing. */
  readonly dir: string;
  /** The named consumers whose cursors gate reclamation, e.g. `['ingest', 'alerts']`. */
  readonly consumers: readonly string[];
  /** The bound on the bytes of all segments (OUTPOST_SPOOL_MAX_BYTES); default 1 GiB. */
  readonly maxBytes?: number;
  /** Roll to a new segment past this size; default 64 MiB, at most maxBytes / 4. */
  readonly segmentBytes?: number;
  /**
   * How long the first append after an idle spell waits for others to share its write; default
   * 0: it is written on the next turn of the event loop, with every append made up to then.
   * Appends made while a group is written form the next group; the groups written during an
   * fsync share the next one in every case.
   */
  readonly groupCommitMs?: number;
  /** `nearFull` from this fraction of maxBytes on; default 0.8. */
  readonly nearFullRatio?: number;
  /**
   * The newest durable records kept in memory for readers that keep up (whole records, bytes);
   * default 8 MiB; 0 = every read goes to the segment files.
   */
  readonly tailCacheBytes?: number;
  /**
   * The least time between two writes of one consumer's cursor file (each a write and an
   * fdatasync); default 100 ms. Commits made meanwhile are written together by the next one, and
   * their promises resolve then. A crash replays at most this much more (replays are idempotent);
   * readers never wait for it (their backpressure counts from the last commit, written or not).
   */
  readonly cursorSyncMs?: number;
}

/** Injected dependencies: everything has a real default. */
export interface SpoolDeps {
  readonly clock?: SpoolClock;
  readonly log?: SpoolLogger;
  /** Makes a segment's written bytes durable; default `handle.datasync()`. A seam for fault tests. */
  readonly sync?: (handle: FileHandle) => Promise<void>;
}

export interface SpoolReadOptions {
  /** Most records in one batch; default 500. */
  readonly maxRecords?: number;
  /** Most payload bytes in one batch (a single larger record still goes alone); default 4 MiB. */
  readonly maxBatchBytes?: number;
  /**
   * Also hand out records once they are written to the segment file, before the fsync that
   * covers them returns (default false: durable records only). Such a record survives a crash of
   * the process (the kernel holds it), not of the machine, and its append is still refused if
   * the fsync fails — for consumers whose work is urgent and safe to repeat (alert rules: the
   * fsync no longer delays an alert). Their commit of a record not yet durable resolves once it
   * is (the cursor never passes the durable end), so a restart re-reads what was not durable.
   */
  readonly written?: boolean;
  /** How long a partial batch waits for more records; default 0 (emit what is there). */
  readonly maxWaitMs?: number;
  /**
   * Backpressure: reading pauses while this many delivered records are not yet committed by
   * the consumer; default 4 × maxRecords. A consumer that never commits stops receiving.
   */
  readonly maxUncommitted?: number;
}

export interface SpoolConsumerStats {
  /** The last seq the consumer committed (0 before any). */
  readonly committedSeq: number;
  readonly depthRecords: number;
  /** Approximate (over by at most a MiB or a second of appends). */
  readonly depthBytes: number;
  /**
   * receivedAt of the oldest record not yet committed, when there is one: never later than the
   * truth — at most a second early for records appended since open, up to a segment for older ones.
   */
  readonly oldestUnconsumedAt?: number;
}

export interface SpoolStats {
  /** Seq of the oldest retained record (segments below every cursor are deleted). */
  readonly firstSeq: number;
  /** Seq of the newest durable record (0 when none was ever written). */
  readonly lastSeq: number;
  /** Bytes of all segments plus appends accepted and not yet written. */
  readonly bytes: number;
  readonly maxBytes: number;
  readonly nearFull: boolean;
  readonly segments: number;
  /** Durable appends since open. */
  readonly appends: number;
  /** Appends refused with SPOOL_FULL_UNAVAILABLE since open. */
  readonly refusedFull: number;
  /** Appends accepted and waiting for their fsync. */
  readonly pendingAppends: number;
  readonly fsyncs: number;
  readonly lastFsyncMs: number;
  readonly maxFsyncMs: number;
  /** Corrupt regions found (at open or while reading) and skipped since open. */
  readonly corruptRegions: number;
  /** Bytes of a torn tail cut at open. */
  readonly truncatedBytes: number;
  /** Records readers took from the in-memory tail instead of the segment files, since open. */
  readonly readFromMemory: number;
  /** Set after a failed fsync: every append is refused until the spool is reopened. */
  readonly failed?: string;
  readonly consumers: Readonly<Record<string, SpoolConsumerStats>>;
}

export interface Spool {
  readonly dir: string;
  /** Resolves once the record is durable (its group's fsync is done); refused with a coded error. */
  append(record: SpoolRecord): Promise<SpoolAppendResult>;
  /** The records after the consumer's cursor, then live ones; completes on close(). */
  read(consumer: string, options?: SpoolReadOptions): Observable<SpoolEntry>;
  /** Same, in batches (never empty) for consumers that write in batches. */
  readBatches(consumer: string, options?: SpoolReadOptions): Observable<readonly SpoolEntry[]>;
  /**
   * Moves the consumer's durable cursor to `seq` (no-op when not ahead); reclaims segments. A seq
   * written and awaiting its fsync is committed once durable; beyond that, SPOOL_CURSOR_INVALID.
   */
  commit(consumer: string, seq: number): Promise<void>;
  /** The consumer's last committed seq. */
  committed(consumer: string): number;
  stats(): SpoolStats;
  /** Writes what is pending, completes the readers, closes files; idempotent. */
  close(): Promise<void>;
}
