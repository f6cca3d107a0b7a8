import type { Spool } from '@outpost/telemetry';

/**
 * The read side of the ingest spool the broker writes (ARCHITECTURE step 3): the accepted
 * telemetry batches as rxjs streams with a durable cursor per consumer, for the ingest
 * pipeline and the alert engine. Reading before the broker started fails with
 * BROKER_UNAVAILABLE.
 */
export type IngestSpool = Pick<Spool, 'read' | 'readBatches' | 'commit' | 'committed' | 'stats'>;
