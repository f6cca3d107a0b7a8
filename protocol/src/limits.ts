/**
 * The limits of SPEC "Limits" as one configurable value. `DEFAULT_LIMITS` holds SPEC's defaults;
 * `resolveLimits` overlays a configuration on them, checks every value and freezes the result.
 */
import { OutpostError } from './errors.js';

/** Metric and tag names (SPEC "Limits"). */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Names refused as metric or tag names (SPEC "Limits"); a tag named like a metric of its sample is refused too. */
export const RESERVED_NAMES: readonly string[] = Object.freeze(['time', 'device']);

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface ProtocolLimits {
  /** Largest accepted payload, in bytes (UTF-8), checked before parsing. SPEC default 256 KiB. */
  readonly maxPayloadBytes: number;
  /** Most samples in one TelemetryBatch. */
  readonly maxSamples: number;
  /** Most metrics in one telemetry sample. */
  readonly maxMetrics: number;
  /** Per-device publish rate, messages per second (enforced by the broker). */
  readonly msgsPerS: number;
  /** Per-device publish rate, bytes per second (enforced by the broker). */
  readonly bytesPerS: number;
  /** Pattern every metric and tag name must match. */
  readonly namePattern: RegExp;
  /** Names refused as metric and tag names (exact, case-sensitive match). */
  readonly reservedNames: readonly string[];
  /** How far a sample's `ts` may lie before `now`, in ms. SPEC: 30 days. */
  readonly tsMaxPastMs: number;
  /** How far a sample's `ts` may lie after `now`, in ms. SPEC: 5 minutes. */
  readonly tsMaxFutureMs: number;
  /** Longest string metric value, in characters (UTF-16 code units). */
  readonly maxStringMetricLength: number;
  /** Longest tag value, in characters (UTF-16 code units). */
  readonly maxTagValueLength: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxPayloadBytes: 262_144,
  maxSamples: 1_000,
  maxMetrics: 100,
  msgsPerS: 100,
  bytesPerS: 1_048_576,
  namePattern: NAME_RE,
  reservedNames: RESERVED_NAMES,
  tsMaxPastMs: 30 * DAY_MS,
  tsMaxFutureMs: 5 * MINUTE_MS,
  maxStringMetricLength: 256,
  maxTagValueLength: 128,
});

type NumericLimit = {
  [K in keyof ProtocolLimits]: ProtocolLimits[K] extends number ? K : never;
}[keyof ProtocolLimits];

const NUMERIC_LIMITS: readonly NumericLimit[] = [
  'maxPayloadBytes',
  'maxSamples',
  'maxMetrics',
  'msgsPerS',
  'bytesPerS',
  'tsMaxPastMs',
  'tsMaxFutureMs',
  'maxStringMetricLength',
  'maxTagValueLength',
];

/**
 * Overlays `overrides` on the defaults, checks every value (positive safe integers, a RegExp,
 * a list of non-empty strings) and returns a frozen ProtocolLimits. Throws one OutpostError
 * `VALIDATION_FAILED` listing every problem in `details`.
 */
export function resolveLimits(overrides: Partial<ProtocolLimits> = {}): ProtocolLimits {
  const merged: ProtocolLimits = { ...DEFAULT_LIMITS, ...withoutUndefined(overrides) };
  const problems: string[] = [];
  for (const key of NUMERIC_LIMITS) {
    const value: unknown = merged[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${key}: must be a whole number of at least 1, got ${String(value)}`);
    }
  }
  if (!(merged.namePattern instanceof RegExp)) problems.push('namePattern: must be a RegExp');
  const reserved: unknown = merged.reservedNames;
  if (!Array.isArray(reserved) || !reserved.every((name) => typeof name === 'string' && name.length > 0)) {
    problems.push('reservedNames: must be a list of non-empty strings');
  }
  if (problems.length > 0) {
    throw new OutpostError('VALIDATION_FAILED', `invalid protocol limits: ${problems.join('; ')}`, {
      details: problems,
    });
  }
  // A global or sticky RegExp keeps state between `test` calls: keep only the stateless flags.
  const namePattern = new RegExp(merged.namePattern.source, merged.namePattern.flags.replace(/[gy]/g, ''));
  return Object.freeze({ ...merged, namePattern, reservedNames: Object.freeze([...merged.reservedNames]) });
}

function withoutUndefined(overrides: Partial<ProtocolLimits>): Partial<ProtocolLimits> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}
