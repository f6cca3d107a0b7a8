export { createBrokerPart, PART_NAME, type BrokerPart } from './broker-part.js';
export type { BrokerPartOptions } from './broker-options.js';
export type { IngestSink } from './ports/ingest-sink.js';
