export { createBrokerPart, PART_NAME, type BrokerPart } from './broker-part.js';
export type { BrokerPartOptions } from './broker-options.js';
export type { IngestSink } from './ports/ingest-sink.js';
// Cluster mode (issue 15, docs/adr/0010-broker-cluster.md): compose after the registry, before the broker, when OUTPOST_REDIS_URL is set.
export { createClusterPart, CLUSTER_PART_NAME, type ClusterPart, type ClusterPartOptions } from './cluster/cluster-part.js';
