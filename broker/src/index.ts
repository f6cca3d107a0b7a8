export { createBrokerPart, PART_NAME, type BrokerPart } from './broker-part.js';
export type { BrokerPartOptions } from './broker-options.js';
export type { IngestSink } from './ports/ingest-sink.js';
// Cluster mode (issue 15, docs/adr/0010-broker-cluster.md): compose after the registry, before the broker, when OUTPOST_REDIS_URL is set.
export { createClusterPart, CLUSTER_PART_NAME, type ClusterPart, type ClusterPartOptions } from './cluster/cluster-part.js';
// Alerts once across the cluster (issue 15 item 5, ADR 0013): compose after the broker, before alerts, when OUTPOST_REDIS_URL is set.
export { createAlertStreamPart, ALERT_STREAM_PART_NAME, type AlertStreamPart, type AlertStreamPartOptions } from './cluster/alert-stream-part.js';
export { partitionOfDevice } from './cluster/alert-stream-redis.js';
