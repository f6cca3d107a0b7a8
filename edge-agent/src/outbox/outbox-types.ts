/**
 * The outbox's contract with the agent's runtime: the publisher peeks entries, sends each
 * payload verbatim on `devices/{id}/telemetry` (QoS 1), acks it on PUBACK and refuses it on a
 * PublishError that names its seq. See open-outbox.ts for the on-disk design.
 */
import type { TelemetrySample } from '@outpost/protocol';

export interface OutboxEntry {
  readonly seq: number;
  /** The encoded TelemetryBatch `{v:1, seq, samples}` (UTF-8 JSON), sent as is. */
  readonly payload: Buffer;
  /** When the entry was appended (epoch ms, the outbox clock); samples keep their own `ts`. */
  readonly createdAt: number;
}

export interface OutboxStats {
  /** Entries waiting for an ack or a refusal. */
  readonly depth: number;
  /** Bytes of the segment files on disk (acked entries count until their segment is reclaimed). */
  readonly bytes: number;
  /** Entries lost to the byte bound (oldest first) or to corruption found on read; lifetime of the directory. */
  readonly dropped: number;
  /** Samples in the entries dropped by the byte bound (and lone samples too large for any record); lifetime of the directory. */
  readonly droppedSamples?: number;
  /** Samples staged in the open batch (durable, not sealed into an entry yet). */
  readonly open?: number;
  /** The byte bound in force. */
  readonly maxBytes?: number;
  /** Entries the platform refused for good; lifetime of the directory. */
  readonly refused: number;
  /** Entries appended since open. */
  readonly appended: number;
  /** Entries acknowledged since open. */
  readonly acked: number;
  /** Bytes of torn or corrupt tails cut at open; lifetime of the directory. */
  readonly truncatedBytes: number;
  /** Segment files on disk. */
  readonly segments?: number;
  /** Bytes skipped inside segments (damage followed by valid records), found at the last open. */
  readonly corruptBytes?: number;
  /** Set when an fsync failed: appends are refused until the outbox is reopened. */
  readonly failed?: string;
}

export type FsyncPolicy = 'always' | 'batch' | 'none';

export interface OutboxLog {
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface OutboxOptions {
  readonly dir: string;
  /** The bound of the segment files; default 64 MiB. When full, the oldest segment goes (counted in `dropped`). */
  readonly maxBytes?: number;
  /** Segment size; default maxBytes / 16, clamped to 64 KiB..4 MiB; at most maxBytes / 2. */
  readonly segmentBytes?: number;
  /** `always`: fsync each append; `batch` (default): group commit within groupCommitMs; `none`: no fsync (survives a crash of the process, not of the machine). */
  readonly fsync?: FsyncPolicy;
  /** Linger of a group commit; default 5 ms. */
  readonly groupCommitMs?: number;
  readonly clock?: { now(): number };
  /** Where drops, cut tails and corruption are reported; default silent. */
  readonly log?: OutboxLog;
  /** Recent payloads kept in memory so that an online publisher never reads them back; default 1 MiB. */
  readonly cacheBytes?: number;
  /** The first drop by the bound is logged at once, later ones at most this often (summed); default 60 s. */
  readonly dropWarnIntervalMs?: number;
  /** The staging log is compacted once it is this large (and mostly settled); default 64 KiB. */
  readonly stagingCompactBytes?: number;
}

export interface Outbox {
  /**
   * Assigns the next seq (strictly increasing across restarts) and stores `{v:1, seq, samples}` durably; resolves with the entry.
   * Refused (OUTBOX_BATCH_OPEN) while staged samples wait to be sealed.
   */
  append(samples: readonly TelemetrySample[]): Promise<OutboxEntry>;
  /**
   * Adds one sample to the open batch, durably (the staging log, group-committed under the fsync
   * policy): resolves when it would survive a crash (a power cut too, unless `fsync: 'none'`).
   * The open batch's seq is the next seq; it is taken when the sample is staged, so stage and
   * seal calls are ordered as they are made.
   */
  stage(sample: TelemetrySample): Promise<void>;
  /**
   * Cuts the open batch into an entry (two or more only when it is too large for one record) and
   * resolves with them once written; `[]` when nothing is open. After a crash, `openOutbox` seals
   * what was staged.
   */
  seal(): Promise<readonly OutboxEntry[]>;
  /**
   * The oldest not-yet-acked/refused entries in seq order (at most `max`, and at most `maxBytes`
   * of payload if given: an entry larger than `maxBytes` is never returned by such a call, so a
   * caller without budget for the first entry gets `[]` and peeks again later, e.g. `peek(1)`).
   * Does not remove them.
   */
  peek(max: number, maxBytes?: number): Promise<readonly OutboxEntry[]>;
  /** The broker acknowledged (PUBACK): the entry leaves the outbox for good (idempotent; unknown seq = no-op). */
  ack(seq: number): Promise<void>;
  /** The platform refused it for good (PublishError with this seq): leaves the outbox, counted in `refused`. */
  refuse(seq: number, reason: string): Promise<void>;
  stats(): OutboxStats;
  close(): Promise<void>;
}
