import type { GroupCommitWriter } from './group-commit-writer.js';
import type { SpoolState } from './spool-state.js';
import type { SpoolConsumerStats, SpoolStats } from './spool-types.js';

export interface StatsExtras {
  readonly maxBytes: number;
  readonly nearFull: boolean;
  readonly refusedFull: number;
  readonly truncatedBytes: number;
}

/** Lag of one consumer, from the sparse position index (no I/O). */
function consumerStats(state: SpoolState, committedSeq: number): SpoolConsumerStats {
  const depthRecords = Math.max(0, state.lastSeq - committedSeq);
  if (depthRecords === 0) return { committedSeq, depthRecords, depthBytes: 0 };
  const point = state.index.lookup(committedSeq + 1);
  let depthBytes = 0;
  for (const segment of state.segments) {
    if (point === undefined || segment.base > point.base) depthBytes += segment.size;
    else if (segment.base === point.base) depthBytes += Math.max(0, segment.size - point.offset);
  }
  return point?.at === undefined
    ? { committedSeq, depthRecords, depthBytes }
    : { committedSeq, depthRecords, depthBytes, oldestUnconsumedAt: point.at };
}

export function spoolStats(state: SpoolState, writer: GroupCommitWriter, extras: StatsExtras): SpoolStats {
  const consumers: Record<string, SpoolConsumerStats> = {};
  for (const [name, seq] of state.requested) consumers[name] = consumerStats(state, seq);
  const stats: SpoolStats = {
    firstSeq: state.segments[0]?.base ?? state.lastSeq + 1,
    lastSeq: state.lastSeq,
    bytes: state.bytes + writer.reservedBytes,
    maxBytes: extras.maxBytes,
    nearFull: extras.nearFull,
    segments: state.segments.length,
    appends: writer.appends,
    refusedFull: extras.refusedFull,
    pendingAppends: writer.pendingAppends,
    fsyncs: writer.fsyncs,
    lastFsyncMs: writer.lastFsyncMs,
    maxFsyncMs: writer.maxFsyncMs,
    corruptRegions: state.corruptRegions,
    truncatedBytes: extras.truncatedBytes,
    readFromMemory: state.tail.served,
    consumers,
  };
  return writer.failure ? { ...stats, failed: writer.failure.code } : stats;
}
