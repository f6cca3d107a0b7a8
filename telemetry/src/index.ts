export {
  createInfluxV1Transport,
  createInfluxV1WriteApi,
  InfluxV1WriteError,
  toV1WritePath,
} from './adapters/influx-v1-transport.js';
export type {
  InfluxV1Transport,
  InfluxV1TransportOptions,
  InfluxV1WriteTarget,
  InfluxV1Writer,
  InfluxV1WriterOptions,
} from './adapters/influx-v1-transport.js';
export { escapeIdentifier, escapeStringLiteral, InfluxQLError, queryInfluxQL } from './adapters/influxql.js';
export type {
  InfluxQLErrorCode,
  InfluxQLOptions,
  InfluxQLResult,
  InfluxQLSeries,
  InfluxQLValue,
} from './adapters/influxql.js';
export * from './spool/index.js';
export * from './ingest/index.js';
export type {
  AggregateFn,
  EntriesWriteResult,
  FleetQuery,
  LatestValue,
  MetricInfo,
  MetricKind,
  MetricValue,
  RangeQuery,
  RawPoint,
  RawQuery,
  SeriesPoint,
  TelemetryPoint,
  TelemetryRollupStats,
  TelemetryStore,
  TelemetryStoreStats,
  WriteOptions,
  WriteResult,
} from './store/telemetry-store.js';
export { openTelemetryStore } from './store/open-store.js';
export type { WorkerTelemetryStore } from './store/worker-store.js';
export type { InfluxConnectionOptions, OpenTelemetryStoreOptions, TelemetryStoreLog } from './store/open-store.js';
export { isRetryableStoreError, TELEMETRY_QUERY_INVALID, TELEMETRY_STORE_UNAVAILABLE } from './store/store-errors.js';
export { openSqliteTelemetryStore } from './adapters/sqlite-store.js';
export type { SqliteTelemetryStore, SqliteTelemetryStoreOptions } from './adapters/sqlite-store.js';
export { openInfluxTelemetryStore } from './adapters/influx-store.js';
export type { InfluxTelemetryStore, InfluxTelemetryStoreOptions } from './adapters/influx-store.js';
export type { DeadLetter } from './adapters/dead-letters.js';
