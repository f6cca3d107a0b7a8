export { createBrokerPart, PART_NAME, type BrokerPart } from './broker-part.js';
export type { BrokerPartOptions } from './broker-options.js';
export type { IngestSink } from './ports/ingest-sink.js';
export { createAlertsModule, alertsMigrations, type AlertsModule, type AlertsDeps, type AlertsOptions } from './alerts/index.js';
