/**
 * The agent's durable outbox: every telemetry batch is on disk before the pipeline lets go of
 * it, survives SIGKILL and power cuts, and leaves only when the broker acknowledged it (PUBACK)
 * or refused it for good (PublishError) — or, when the byte bound is reached, when it is among
 * the oldest, dropped *with a count* (never silently, unlike Telegraf's memory buffer; never by
 * age, unlike a 2 h TTL: a week-long outage of a Pi sending a batch every 10 s fills ~10 MiB).
 *
 * Layout of `dir`:
 * - `NNNNNNNNNNNNNNNNNNNN.seg` — append-only segment files, named by the seq of their first
 *   record (20 digits); records are `{header 32 B, payload}` with a CRC-32 of the header and one
 *   of the payload (record-format.ts). The last segment is the active one; a segment is sealed
 *   (and, unless `fsync: 'none'`, synced) before the next is created, and a new segment's name
 *   is made durable (directory fsync) before records go in it.
 * - `acks.log` — the ack journal (journal-format.ts): fixed 24-byte CRC'd records saying that
 *   an entry was acked, refused or lost, that every entry up to a seq was dropped by the bound,
 *   and the lifetime counters (dropped, refused, truncatedBytes). A journal rather than a
 *   cursor because acks arrive out of order (several publishes in flight); entries are marked
 *   done in memory at once (so peek never hands them out again) and the journal record follows
 *   under the fsync policy. Losing an ack record in a crash means one duplicate publish, never a
 *   loss; ingest writes are idempotent. The journal is compacted (rewritten via a synced
 *   temporary file and a rename) at open and whenever it holds far more than needed.
 * - `staged.log` — the staging log (staging-log.ts, ADR 0006): the samples of the open batch,
 *   written as they are collected, each tagged with the seq its batch will get. At open, tags the
 *   segments do not hold yet are sealed into their batches; then the log is compacted.
 * - `LOCK` — `pid startTime`: one process per outbox; a dead holder's lock is taken over.
 *
 * Append: the seq is assigned at call time (so seqs increase in call order and across
 * restarts: the next seq is one past the largest seq found in a segment or the journal), the
 * payload `{v:1, seq, samples}` is encoded once and stored verbatim, and the promise resolves
 * when the record is written — and synced under `always` (one fsync per append) and `batch`
 * (group commit: appends within `groupCommitMs` share one write and one fdatasync). Under
 * `none` it resolves after the write: safe from a process crash (page cache), not from a power
 * cut. `peek` returns only entries whose append resolved.
 *
 * Space: a whole segment file is deleted once none of its entries is pending (and it is not the
 * active one). Before a write would pass `maxBytes`, the oldest segments go; their pending
 * entries are counted in `dropped` (the drop is journaled, synced, before the file is deleted).
 * A batch larger than `maxBytes / 4` is refused (OUTBOX_RECORD_TOO_LARGE).
 *
 * Recovery at open (recover-segments.ts): every segment is verified; a torn tail (a write cut by
 * SIGKILL or a power cut: invalid bytes with no valid record after them) is cut and counted in
 * `truncatedBytes`; damage followed by valid records is skipped and logged (`corruptBytes`). A
 * torn journal tail is cut too. A failed fsync stops appends (OUTBOX_IO_UNAVAILABLE) until the
 * outbox is reopened and its tail verified: after a failed fsync the page cache cannot be trusted.
 */
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AckJournal } from './ack-journal.js';
import { ensureDirectory, lockDirectory, segmentFileName, syncDirectory } from './dir-files.js';
import type { DirectoryLock } from './dir-files.js';
import { DiskOutbox } from './disk-outbox.js';
import type { DiskOutboxConfig } from './disk-outbox.js';
import { JournalKind } from './journal-format.js';
import { outboxError } from './outbox-errors.js';
import type { Outbox, OutboxOptions } from './outbox-types.js';
import { recoverSegments } from './recover-segments.js';
import { Segment } from './segment.js';
import { StagingLog } from './staging-log.js';

const KIB = 1024;
const MIB = 1024 * KIB;
export const OUTBOX_DEFAULTS = Object.freeze({ maxBytes: 64 * MIB, fsync: 'batch', groupCommitMs: 5, cacheBytes: 1 * MIB, dropWarnIntervalMs: 60_000, minMaxBytes: 4 * KIB });

function wholeNumber(value: unknown, name: string, min: number, max: number, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${name}: must be a whole number from ${min} to ${max}, got ${String(value)}`);
    return undefined;
  }
  return value;
}

/** Checks and completes the options; throws one OUTBOX_OPTIONS_INVALID listing every problem. */
export function resolveOutboxOptions(options: OutboxOptions): DiskOutboxConfig {
  const problems: string[] = [];
  if (typeof options.dir !== 'string' || options.dir.length === 0) problems.push('dir: required');
  const maxBytes = wholeNumber(options.maxBytes, 'maxBytes', OUTBOX_DEFAULTS.minMaxBytes, Number.MAX_SAFE_INTEGER, problems) ?? OUTBOX_DEFAULTS.maxBytes;
  const segmentDefault = Math.min(Math.max(Math.floor(maxBytes / 16), 64 * KIB), 4 * MIB, Math.floor(maxBytes / 2));
  const segmentBytes = wholeNumber(options.segmentBytes, 'segmentBytes', 256, Math.floor(maxBytes / 2), problems) ?? segmentDefault;
  const groupCommitMs = wholeNumber(options.groupCommitMs, 'groupCommitMs', 0, 60_000, problems) ?? OUTBOX_DEFAULTS.groupCommitMs;
  const cacheBytes = wholeNumber(options.cacheBytes, 'cacheBytes', 0, Number.MAX_SAFE_INTEGER, problems) ?? OUTBOX_DEFAULTS.cacheBytes;
  const dropWarnIntervalMs = wholeNumber(options.dropWarnIntervalMs, 'dropWarnIntervalMs', 0, 7 * 24 * 3_600_000, problems) ?? OUTBOX_DEFAULTS.dropWarnIntervalMs;
  const stagingCompactBytes = wholeNumber(options.stagingCompactBytes, 'stagingCompactBytes', 0, Number.MAX_SAFE_INTEGER, problems) ?? 64 * KIB;
  const fsync = options.fsync ?? 'batch';
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'none') problems.push(`fsync: must be 'always', 'batch' or 'none', got ${String(fsync)}`);
  if (problems.length > 0) {
    throw outboxError('OUTBOX_OPTIONS_INVALID', `invalid outbox options: ${problems.join('; ')}`, { details: problems });
  }
  const clock = options.clock;
  return Object.freeze({
    dir: options.dir,
    maxBytes,
    segmentBytes,
    fsync,
    groupCommitMs,
    cacheBytes,
    dropWarnIntervalMs,
    stagingCompactBytes,
    now: clock === undefined ? () => Date.now() : () => clock.now(),
    log: options.log,
  });
}

export async function openOutbox(options: OutboxOptions): Promise<Outbox> {
  const config = resolveOutboxOptions(options);
  const { dir, log } = config;
  await ensureDirectory(dir);
  const lock: DirectoryLock = await lockDirectory(dir);
  try {
    const { journal, state } = await AckJournal.open(dir, config.fsync, config.groupCommitMs, log);
    const { staging, records: staged } = await StagingLog.open(dir, config.fsync, config.groupCommitMs, log, config.stagingCompactBytes);
    const recovered = await recoverSegments(dir, state, log);
    const nextSeq = Math.max(recovered.nextSeq, state.maxSeq + 1, state.dropThrough + 1);
    const segments = recovered.segments;
    // Segments left fully settled (a crash between an ack and the deletion) go now. The last one
    // stays active unless it is settled too: then a fresh one, named by the next seq, replaces it
    // (created before the old one is deleted, so the seq high-water mark is never off disk).
    const last = segments.pop();
    const keep: Segment[] = [];
    for (const segment of segments) {
      if (segment.pending > 0) keep.push(segment);
      else await unlink(segment.file);
    }
    let activeSegment = last;
    if (activeSegment === undefined || (activeSegment.pending === 0 && activeSegment.size > 0)) {
      const file = path.join(dir, segmentFileName(nextSeq));
      await (await open(file, 'w', 0o600)).close();
      await syncDirectory(dir);
      if (activeSegment !== undefined) await unlink(activeSegment.file);
      activeSegment = new Segment(nextSeq, file, 0);
    }
    keep.push(activeSegment);
    const truncatedBytes = state.truncatedBytes + recovered.truncatedBytes;
    if (recovered.truncatedBytes > 0) await journal.appendDurable({ kind: JournalKind.truncated, seq: 0, total: truncatedBytes });
    const activeHandle = await open(activeSegment.file, 'r+');
    const outbox = new DiskOutbox(config, journal, lock, staging, {
      segments: keep,
      activeHandle,
      nextSeq,
      dropThrough: state.dropThrough,
      dropped: state.dropped,
      droppedSamples: state.droppedSamples,
      refused: state.refused,
      truncatedBytes,
      corruptBytes: recovered.corruptBytes,
    });
    const sealed = await outbox.recoverStaged(staged);
    if (sealed.samples > 0) log?.warn(sealed, 'outbox: samples staged before the agent stopped were sealed into batches');
    await journal.compact(() => outbox.journalSnapshot());
    return outbox;
  } catch (error) {
    await lock.release();
    throw error;
  }
}
