/**
 * DeviceStatus (`devices/{id}/status`, retained). Online carries the agent's state; the
 * offline last will carries only `v` and `state` (the broker stamps the time).
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Count, EpochMs, ErrorInfo, Name, Semver, V1 } from './common.js';

export const FirmwareInfo = Type.Object(
  {
    name: Name,
    version: Semver,
    /** The A/B slot the running version lives in. */
    slot: Type.Enum(['a', 'b']),
  },
  { additionalProperties: false },
);
export type FirmwareInfo = Static<typeof FirmwareInfo>;

export const OutboxStats = Type.Object(
  {
    /** Batches waiting to be sent. */
    depth: Count,
    /** Bytes waiting to be sent. */
    bytes: Count,
    /** Batches the agent dropped itself (outbox full), since start. */
    dropped: Count,
    /** Batches the platform refused as permanently invalid, since start. */
    refused: Count,
    /** Samples in the batches dropped (outbox full), lifetime of the outbox; optional: agents before issue 11 do not send it. */
    droppedSamples: Type.Optional(Count),
    /** The outbox's byte bound; optional: agents before issue 11 do not send it. */
    maxBytes: Type.Optional(Count),
  },
  { additionalProperties: false },
);
export type OutboxStats = Static<typeof OutboxStats>;

export const DeviceStatusOnline = Type.Object(
  {
    v: V1,
    state: Type.Literal('online'),
    agentVersion: Semver,
    firmware: Type.Optional(FirmwareInfo),
    uptimeS: Count,
    outbox: OutboxStats,
    lastError: Type.Optional(ErrorInfo),
    at: EpochMs,
  },
  { additionalProperties: false },
);
export type DeviceStatusOnline = Static<typeof DeviceStatusOnline>;

export const DeviceStatusOffline = Type.Object(
  { v: V1, state: Type.Literal('offline') },
  { additionalProperties: false },
);
export type DeviceStatusOffline = Static<typeof DeviceStatusOffline>;

export const DeviceStatus = Type.Union([DeviceStatusOnline, DeviceStatusOffline]);
export type DeviceStatus = Static<typeof DeviceStatus>;
