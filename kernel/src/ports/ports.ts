import type { AlertStreamPort } from './alert-stream-port.js';
import type { ClusterBus } from './cluster-bus.js';
import type { DeviceChannel } from './device-channel.js';
import type { DeviceInbox } from './device-inbox.js';
import type { IngestSpool } from './ingest-spool.js';
import type { MaintenancePort } from './maintenance-port.js';
import type { MqttListenerPort } from './mqtt-listener-port.js';
import type { MqttPublisher } from './mqtt-publisher.js';
import type { RegistryPort } from './registry-port.js';
import type { TelemetryRecordsPort } from './telemetry-records.js';
import type { TlsPort } from './tls-port.js';

/**
 * The cross-part ports, one named, typed field each, and who provides it (ADR 0007). A
 * part's factory sees the ports of the parts composed before it (`PartDeps.ports`); a port
 * a part needs is taken with `requirePort`, which refuses with a coded error naming the
 * provider when the composition lacks it.
 */
export interface Ports {
  /** The registry: server TLS credentials for the device and MQTT listeners. */
  readonly tls: TlsPort;
  /** The registry: device identity, certificate checks, registry events, configs and commands. */
  readonly registry: RegistryPort;
  /** The registry: told by the broker where the MQTT listener is bound (for enroll answers). */
  readonly mqttListener: MqttListenerPort;
  /** OTA (is a device applying an update?); the platform answers false when no part provides it. */
  readonly maintenance: MaintenancePort;
  /** The broker: platform → device publishing. */
  readonly deviceChannel: DeviceChannel;
  /** The broker: typed device → platform streams. */
  readonly deviceInbox: DeviceInbox;
  /** The broker: the durable ingest spool's read side. */
  readonly ingestSpool: IngestSpool;
  /** The broker: the spool's records decoded once, shared by its consumers (ingest, alerts). */
  readonly telemetryRecords: TelemetryRecordsPort;
  /** The broker: publishing into MQTT (the alerts part's `integrations/alerts`). */
  readonly mqttPublisher: MqttPublisher;
  /** The cluster part (OUTPOST_REDIS_URL set, issue 15): what the nodes tell each other through Redis. */
  readonly cluster: ClusterBus;
  /** The alert-stream part (OUTPOST_REDIS_URL set, issue 15 item 5): telemetry partitioned by device for the alert evaluators. */
  readonly alertStream: AlertStreamPort;
}

export type PortName = keyof Ports;

/** Which part provides each port (for refusals and the composition check). */
export const PORT_PROVIDERS: Readonly<Record<PortName, string>> = {
  tls: 'registry',
  registry: 'registry',
  mqttListener: 'registry',
  maintenance: 'ota',
  deviceChannel: 'broker',
  deviceInbox: 'broker',
  ingestSpool: 'broker',
  telemetryRecords: 'broker',
  mqttPublisher: 'broker',
  cluster: 'cluster',
  alertStream: 'alert-stream',
};
