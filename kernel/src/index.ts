import './http/openapi-schema.js';
export type { Part, PartDeps, PartFactory, Listeners, Readiness, Clock, Log } from './part.js';
export type { OutpostConfig, NodeRole, LogLevel, LogFormat, InfluxApi, ListenerConfig, HttpListenerConfig, MqttListenerConfig, LimitsConfig, InfluxConfig, InfluxRollupConfig, OtaConfig, DatabaseConfig } from './config/outpost-config.js';
export { PORT_PROVIDERS, type Ports, type PortName } from './ports/ports.js';
export { requirePort } from './ports/require-port.js';
export type { AuthPort } from './ports/auth-port.js';
export type { Lease, LeasePort } from './ports/lease-port.js';
export type { AuditPort, AuditRecord, AuditEntry, AuditOutcome } from './ports/audit-port.js';
export { LIVE_TOPICS, type LivePort, type LiveEvent, type LiveTopic } from './ports/live-port.js';
export type { StateDatabase, Migrations } from './ports/state-database.js';
export { stateDialectOf, type StateDialect } from './ports/state-dialect.js';
export type { TlsPort, TlsCredentials } from './ports/tls-port.js';
export type { MaintenancePort } from './ports/maintenance-port.js';
export type { MqttListenerPort } from './ports/mqtt-listener-port.js';
export type { DeviceChannel } from './ports/device-channel.js';
export type { ClusterBus, DeviceClaim } from './ports/cluster-bus.js';
export type { AlertStreamPort, AlertStreamEntry } from './ports/alert-stream-port.js';
export type { DeviceInbox, InboxMessage, OtaProgressHandler, PresenceChange } from './ports/device-inbox.js';
export type { IngestSpool } from './ports/ingest-spool.js';
export type { TelemetryRecord, TelemetryRecordsPort, UnreadableRecord } from './ports/telemetry-records.js';
export type { MqttMessage, MqttPublisher } from './ports/mqtt-publisher.js';
export type {
  CertificateCheck,
  CertificateRefusal,
  CommandOutcome,
  CommandPort,
  CommandState,
  DeviceConfigPort,
  DeviceLifecycle,
  DeviceStatusUpdate,
  DeviceSummary,
  RegistryPort,
} from './ports/registry-port.js';
export { ROLES, isRole, roleAtLeast, type Role } from './ports/roles.js';
export type { Principal, Revocation } from './ports/principal.js';
export { ErrorBody, errorResponses, EpochMs, nullable } from './http/schemas.js';
export { PageQuery, pageOf, encodeCursor, decodeCursor, isString, isNumber, page } from './http/pagination.js';
export { ERROR_STATUS, isServerErrorCode, statusOfError, type ServerErrorCode } from './errors/error-status.js';
