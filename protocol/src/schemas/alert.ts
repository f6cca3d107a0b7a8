/** AlertEvent (`integrations/alerts`, one per transition) and the Alert resource of the HTTP API. */
import Type from 'typebox';
import type { Static } from 'typebox';
import { DeviceId, EpochMs, Id, Severity, V1 } from './common.js';
import { AlertTransition, AlertValue } from './edge-alert.js';

export const AlertEvent = Type.Object(
  {
    v: V1,
    /** This event's id. */
    id: Id,
    /** The alert (resource) the transition belongs to. */
    alertId: Id,
    ruleId: Id,
    deviceId: DeviceId,
    state: AlertTransition,
    severity: Severity,
    value: AlertValue,
    /** When the transition happened (the sample's time). */
    ts: EpochMs,
    /** When the platform emitted the event. */
    at: EpochMs,
    /** The device was under maintenance (updating) at the time. */
    maintenance: Type.Boolean(),
    /** The transition was computed from data that arrived late. */
    late: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type AlertEvent = Static<typeof AlertEvent>;

export const AlertState = Type.Enum(['firing', 'acknowledged', 'resolved']);
export type AlertState = Static<typeof AlertState>;

export const AlertAck = Type.Object(
  {
    /** The operator's user name. */
    by: Type.String({ minLength: 1, maxLength: 128 }),
    at: EpochMs,
    comment: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type AlertAck = Static<typeof AlertAck>;

/** The Alert resource (HTTP API); a resource, not an MQTT payload, so it carries no `v`. */
export const Alert = Type.Object(
  {
    id: Id,
    ruleId: Id,
    deviceId: DeviceId,
    severity: Severity,
    state: AlertState,
    value: AlertValue,
    firedAt: EpochMs,
    resolvedAt: Type.Optional(EpochMs),
    ack: Type.Optional(AlertAck),
    maintenance: Type.Boolean(),
    late: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type Alert = Static<typeof Alert>;
