/**
 * TelemetryBatch (`devices/{id}/telemetry`). Metric and tag names are not constrained here:
 * the codec checks them against the configurable limits, so a bad name is refused with
 * NAME_INVALID or NAME_RESERVED rather than a generic schema error. Sample and metric counts,
 * string lengths and the `ts` window are checked the same way.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Count, EpochMs, printableText, V1 } from './common.js';

/** Any key: names are checked by the codec against ProtocolLimits; tag value lengths too. */
const ANY_KEY = Type.String({ pattern: '^[\\s\\S]*$' });

/** A metric value: numbers are stored as floats; strings are bounded by ProtocolLimits. */
export const MetricValue = Type.Union([Type.Number(), Type.Boolean(), Type.String()]);
export type MetricValue = Static<typeof MetricValue>;

export const TelemetrySample = Type.Object(
  {
    ts: EpochMs,
    metrics: Type.Record(ANY_KEY, MetricValue, { minProperties: 1 }),
    tags: Type.Optional(Type.Record(ANY_KEY, printableText(1))),
  },
  { additionalProperties: false },
);
export type TelemetrySample = Static<typeof TelemetrySample>;

export const TelemetryBatch = Type.Object(
  {
    v: V1,
    /** Per-device, increasing; for correlation only, never used to drop. */
    seq: Count,
    samples: Type.Array(TelemetrySample, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;
