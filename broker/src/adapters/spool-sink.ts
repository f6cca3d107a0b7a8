/**
 * The IngestSink on telemetry's durable spool (an append-only, checksummed log with
 * group-commit fsync): `append` resolves once the batch is on disk, so a PUBACK means
 * durable. The spool's refusals (`SPOOL_FULL_UNAVAILABLE`, `SPOOL_IO_UNAVAILABLE`,
 * `SPOOL_CLOSED`) reject the append, and the hook then withholds the PUBACK.
 */
import type { Spool } from '@outpost/telemetry';
import type { IngestSink } from '../ports/ingest-sink.js';

export function spoolSink(spool: Spool, now: () => number): IngestSink {
  return {
    async append(deviceId, batch) {
      await spool.append({ deviceId, payload: batch, receivedAt: now() });
    },
    close: () => spool.close(),
  };
}
