import { DEVICE_ID_PATTERN, GROUP_PATTERN, NAME_PATTERN } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import { EpochMs } from '@outpost/kernel';

/**
 * Route schemas of the telemetry query API (SPEC "HTTP API → telemetry"). Every name that can
 * reach a store query is held to protocol's pattern here, so quotes, `;`, newlines and regular
 * expression metacharacters are a 400 before any handler runs.
 */
export const DeviceParams = Type.Object(
  { id: Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 64, description: 'device id (lowercase letters, digits, "-"; 3 to 64 characters)' }) },
  { additionalProperties: false },
);
export type DeviceParams = Static<typeof DeviceParams>;

const MetricName = Type.String({ pattern: NAME_PATTERN, maxLength: 64, description: 'metric name (letters, digits, "_", ".", "-"; starts with a letter or "_")' });

export const AGGREGATE_FNS = ['mean', 'min', 'max', 'last', 'count'] as const;

const windowFields = {
  metric: MetricName,
  from: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'start (inclusive): epoch ms or RFC 3339; default: an hour before to' })),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'end (exclusive): epoch ms or RFC 3339; default: now' })),
  every: Type.Optional(
    Type.String({ minLength: 1, maxLength: 32, description: 'bucket size such as 10s or 5m (at least 1s); default: automatic. Raised to a round size when the range would answer more than the point budget' }),
  ),
  fn: Type.Optional(Type.Enum(AGGREGATE_FNS, { description: 'aggregate of each bucket; default mean. mean/min/max need a numeric metric' })),
};

export const SeriesQuery = Type.Object(windowFields, { additionalProperties: false });
export type SeriesQuery = Static<typeof SeriesQuery>;

export const FleetQuery = Type.Object(
  { ...windowFields, group: Type.Optional(Type.String({ pattern: GROUP_PATTERN, maxLength: 64, description: "only this group's devices; default: every device" })) },
  { additionalProperties: false },
);
export type FleetQuery = Static<typeof FleetQuery>;

const MetricValue = Type.Union([Type.Number(), Type.Boolean(), Type.String()], { description: 'numbers are stored as floats; booleans and strings take part in last and count only' });

export const SeriesAnswer = Type.Object({
  metric: Type.String(),
  group: Type.Optional(Type.String({ description: 'fleet queries: the group asked for' })),
  every: Type.String({ description: 'the bucket size used, e.g. 5m (raised from the one asked for when needed)' }),
  fn: Type.Enum(AGGREGATE_FNS),
  from: EpochMs,
  to: EpochMs,
  points: Type.Array(Type.Object({ ts: Type.Integer({ description: 'bucket start, epoch ms' }), value: MetricValue }), { description: 'one per non-empty bucket, in time order' }),
});
export type SeriesAnswer = Static<typeof SeriesAnswer>;

export const LatestAnswer = Type.Object({
  deviceId: Type.String(),
  metrics: Type.Record(Type.String(), Type.Object({ ts: EpochMs, value: MetricValue }), { description: "each metric's newest value" }),
});

export const MetricsAnswer = Type.Object({
  deviceId: Type.String(),
  metrics: Type.Array(Type.Object({ name: Type.String(), type: Type.Enum(['number', 'boolean', 'string']) })),
});
