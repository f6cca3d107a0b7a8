export { IngestPipeline, INGEST_CONSUMER } from './ingest-pipeline.js';
export type { IngestDeps, IngestOptions, IngestSpoolReader, IngestStats, WriteObservation } from './ingest-pipeline.js';
export { registerIngestMetrics } from './ingest-metrics.js';
export type { IngestMetricSources } from './ingest-metrics.js';
export { pointsOf } from './batch-points.js';
export { TelemetryRecords } from './telemetry-records.js';
export type { TelemetryRecord, TelemetryRecordsOptions, TelemetryRecordsPort, TelemetryRecordStats, UnreadableRecord } from './telemetry-records.js';
