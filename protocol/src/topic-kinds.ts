/**
 * Every MQTT topic of SPEC "MQTT" with its direction, QoS, retain flag and payload. The
 * broker derives its ACL from this table; builders and the parser (topics.ts) use it too.
 */
import type { PayloadKind } from './payloads.js';

export type TopicDirection = 'device-to-platform' | 'platform-to-device' | 'platform-to-integrations';
export type Qos = 0 | 1;

export interface TopicKindInfo {
  /** The levels after `devices/{id}/` (device topics) or the whole topic (integration topics). */
  readonly suffix: string;
  readonly direction: TopicDirection;
  /** The QoS the sender uses. */
  readonly qos: Qos;
  /** The QoS levels the receiver accepts on this topic. */
  readonly acceptedQos: readonly Qos[];
  /** Whether the sender publishes retained messages. */
  readonly retain: boolean;
  /** The payload kind for `decodePayload`. */
  readonly payload: PayloadKind;
}

function kind<D extends TopicDirection>(
  suffix: string,
  direction: D,
  payload: PayloadKind,
  options: { qos?: Qos; acceptedQos?: readonly Qos[]; retain?: boolean } = {},
): TopicKindInfo & { readonly direction: D } {
  const qos = options.qos ?? 1;
  return Object.freeze({
    suffix,
    direction,
    qos,
    acceptedQos: Object.freeze([...(options.acceptedQos ?? [qos])]),
    retain: options.retain ?? false,
    payload,
  });
}

export const DEVICE_TOPIC_KINDS = Object.freeze({
  telemetry: kind('telemetry', 'device-to-platform', 'TelemetryBatch', { acceptedQos: [0, 1] }),
  status: kind('status', 'device-to-platform', 'DeviceStatus', { retain: true }),
  alerts: kind('alerts', 'device-to-platform', 'EdgeAlert'),
  configDesired: kind('config/desired', 'platform-to-device', 'DesiredConfig', { retain: true }),
  configReported: kind('config/reported', 'device-to-platform', 'ReportedConfig'),
  commands: kind('commands', 'platform-to-device', 'Command'),
  commandResult: kind('commands/result', 'device-to-platform', 'CommandResult'),
  trust: kind('trust', 'platform-to-device', 'TrustSet', { retain: true }),
  otaJob: kind('ota/job', 'platform-to-device', 'OtaJob', { retain: true }),
  otaProgress: kind('ota/progress', 'device-to-platform', 'OtaProgress'),
  errors: kind('errors', 'platform-to-device', 'PublishError', { qos: 0 }),
});

export type DeviceTopicKind = keyof typeof DEVICE_TOPIC_KINDS;

export const INTEGRATION_TOPIC_KINDS = Object.freeze({
  integrationsAlerts: kind('integrations/alerts', 'platform-to-integrations', 'AlertEvent'),
});

export type IntegrationTopicKind = keyof typeof INTEGRATION_TOPIC_KINDS;
export type TopicKind = DeviceTopicKind | IntegrationTopicKind;

export const DEVICE_TOPIC_KIND_NAMES = Object.freeze(Object.keys(DEVICE_TOPIC_KINDS)) as readonly DeviceTopicKind[];

/** Metadata of any topic kind. */
export function topicKindInfo(kind: TopicKind): TopicKindInfo {
  return kind === 'integrationsAlerts' ? INTEGRATION_TOPIC_KINDS[kind] : DEVICE_TOPIC_KINDS[kind];
}

/** The device topic kinds of one direction, e.g. what a device may publish. */
export function deviceTopicKinds(direction: 'device-to-platform' | 'platform-to-device'): readonly DeviceTopicKind[] {
  return DEVICE_TOPIC_KIND_NAMES.filter((name) => DEVICE_TOPIC_KINDS[name].direction === direction);
}
