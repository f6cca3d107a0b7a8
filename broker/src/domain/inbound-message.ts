/**
 * The checks of one device publish, in SPEC "MQTT" order: the topic against the ACL
 * (violation: disconnect), then the payload against its schema and the limits (violation:
 * acknowledged, dropped and explained with a PublishError). Pure.
 */
import {
  checkPublish,
  decodePayload,
  DEVICE_TOPIC_KINDS,
  type CommandResult,
  type DeviceStatus,
  type EdgeAlert,
  type OtaProgress,
  type ProtocolLimits,
  type PublishError,
  type ReportedConfig,
  type TelemetryBatch,
  type TopicErrorCode,
} from '@outpost/protocol';
import { batchSeqOf } from './batch-seq.js';

/** Payloads of the device → platform topics, by topic kind (checked against protocol's table in a test). */
export interface InboundPayloads {
  readonly telemetry: TelemetryBatch;
  readonly status: DeviceStatus;
  readonly alerts: EdgeAlert;
  readonly configReported: ReportedConfig;
  readonly commandResult: CommandResult;
  readonly otaProgress: OtaProgress;
}
export type InboundKind = keyof InboundPayloads;

export type InboundMessage = {
  readonly [K in InboundKind]: {
    readonly kind: K;
    readonly deviceId: string;
    readonly topic: string;
    readonly payload: InboundPayloads[K];
    /** Size of the raw payload in bytes. */
    readonly bytes: number;
    /** When the broker accepted it (epoch ms). */
    readonly receivedAt: number;
  };
}[InboundKind];

export type TopicRefusalCode = TopicErrorCode | 'QOS_UNSUPPORTED';

export type TopicCheck =
  | { readonly ok: true; readonly kind: InboundKind }
  | { readonly ok: false; readonly code: TopicRefusalCode; readonly reason: string };

const INBOUND_KINDS: ReadonlySet<string> = new Set<InboundKind>(['telemetry', 'status', 'alerts', 'configReported', 'commandResult', 'otaProgress']);

function isInboundKind(kind: string): kind is InboundKind {
  return INBOUND_KINDS.has(kind);
}

/**
 * The ACL of a device publish. QoS 0 and 1 are accepted on every device → platform topic
 * (QoS 0 is simply not durable); Outpost never uses QoS 2, so it is a violation.
 */
export function checkDeviceTopic(deviceId: string, topic: string, qos: number): TopicCheck {
  const checked = checkPublish(deviceId, topic);
  if (!checked.ok) return { ok: false, code: checked.code, reason: checked.reason };
  const kind = checked.value.kind;
  if (!isInboundKind(kind)) return { ok: false, code: 'TOPIC_FORBIDDEN', reason: `${topic} is not a device → platform topic` };
  if (qos > 1) return { ok: false, code: 'QOS_UNSUPPORTED', reason: `QoS ${qos} is not used by Outpost: publish ${topic} with QoS 1` };
  return { ok: true, kind };
}

export type DecodeOutcome =
  | { readonly ok: true; readonly message: InboundMessage }
  | { readonly ok: false; readonly error: PublishError };

/** Decodes the payload of an ACL-checked publish; a refusal comes as the PublishError to send back. */
export function decodeInbound(
  input: { readonly deviceId: string; readonly topic: string; readonly kind: InboundKind; readonly payload: Uint8Array },
  limits: ProtocolLimits,
  now: number,
): DecodeOutcome {
  const { deviceId, topic, kind, payload } = input;
  const decoded = decodePayload(DEVICE_TOPIC_KINDS[kind].payload, payload, { limits, now });
  if (!decoded.ok) {
    const seq = kind === 'telemetry' ? batchSeqOf(payload, limits.maxPayloadBytes) : undefined;
    const error: PublishError = { v: 1, topic, code: decoded.code, reason: decoded.reason };
    if (seq !== undefined) error.seq = seq;
    return { ok: false, error };
  }
  const message = { kind, deviceId, topic, payload: decoded.value, bytes: payload.byteLength, receivedAt: now } as InboundMessage;
  return { ok: true, message };
}
