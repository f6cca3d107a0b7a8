import type { TelemetryBatch } from '@outpost/protocol';
import type { SpoolEntry } from '@outpost/telemetry';

/** One accepted telemetry batch as the spool's consumers see it: typed and trusted. */
export interface TelemetryRecord {
  readonly seq: number;
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly batch: TelemetryBatch;
}

/** A spooled entry that is not a telemetry batch (a damaged or foreign file): reported, never thrown. */
export interface UnreadableRecord {
  readonly seq: number;
  readonly deviceId: string;
  readonly reason: string;
}

/**
 * Decode once (issue 12, item 2; provided by the broker as `ports.telemetryRecords`): the
 * spool's entries as the typed batches the publish hook validated — handed over from memory
 * while remembered, else parsed once without a second validation and shared with the other
 * consumers (ingest, alerts). Consumers never judge a record again.
 */
export interface TelemetryRecordsPort {
  recordsOf(entries: readonly SpoolEntry[]): { readonly records: TelemetryRecord[]; readonly unreadable: UnreadableRecord[] };
}
