/**
 * Decode once (issue 12, item 2; provided by the broker as `ports.telemetryRecords`): the
 * spool's entries as the typed batches the publish hook validated — handed over from memory
 * while remembered, else parsed once without a second validation and shared with the other
 * consumers (ingest, alerts). Consumers never judge a record again. The types live beside the
 * spool and the ingest pipeline in telemetry (telemetry/src/ingest/telemetry-records.ts).
 */
export type { TelemetryRecord, TelemetryRecordsPort, UnreadableRecord } from '@outpost/telemetry';
