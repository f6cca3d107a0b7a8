/** Limits: the wire form of the payload and rate limits, sent to the agent in DesiredConfig. */
import Type from 'typebox';
import type { Static } from 'typebox';
import type { ProtocolLimits } from '../limits.js';

const Positive = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const Limits = Type.Object(
  {
    maxPayloadBytes: Positive,
    maxSamples: Positive,
    maxMetrics: Positive,
    msgsPerS: Positive,
    bytesPerS: Positive,
  },
  { additionalProperties: false },
);
export type Limits = Static<typeof Limits>;

/** The Limits payload for the given protocol limits. */
export function toWireLimits(limits: ProtocolLimits): Limits {
  return {
    maxPayloadBytes: limits.maxPayloadBytes,
    maxSamples: limits.maxSamples,
    maxMetrics: limits.maxMetrics,
    msgsPerS: limits.msgsPerS,
    bytesPerS: limits.bytesPerS,
  };
}
