/**
 * The IngestSink on telemetry's durable spool (an append-only, checksummed log with
 * group-commit fsync): `append` resolves once the batch is on disk, so a PUBACK means
 * durable. The spool's refusals (`SPOOL_FULL_UNAVAILABLE`, `SPOOL_IO_UNAVAILABLE`,
 * `SPOOL_CLOSED`) reject the append, and the hook then withholds the PUBACK.
 *
 * Decode once: the spool stores the bytes the hook validated, and the hook's decoded batch is
 * remembered by its seq (`records`) once written, so the consumers take it typed instead of parsing again.
 */
import type { TelemetryBatch } from '@outpost/protocol';
import type { Spool, TelemetryRecords } from '@outpost/telemetry';
import type { IngestSink } from '../ports/ingest-sink.js';

export function spoolSink(spool: Spool, now: () => number, records?: TelemetryRecords): IngestSink {
  return {
    async append(deviceId: string, raw: Uint8Array, batch?: TelemetryBatch) {
      // Remembered once written, before any consumer can read it: the alert engine reads
      // written records, before their fsync (SpoolReadOptions.written).
      const onWritten = batch === undefined || records === undefined ? undefined : (seq: number) => records.remember(seq, batch, raw.byteLength);
      await spool.append({ deviceId, payload: raw, receivedAt: now(), onWritten });
    },
    close: () => spool.close(),
  };
}
