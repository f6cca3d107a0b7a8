/**
 * Building blocks shared by the payload schemas. Every string and list has a bound, so a
 * value that passes a schema is small whatever the sender tried.
 */
import Type from 'typebox';
import type { Static } from 'typebox';

/** Largest epoch-millisecond value a JavaScript Date can hold (year 275760). */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** Device ids: the certificate CN (SPEC "Identity"). */
export const DEVICE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{2,63}$';
/** Metric, tag and other machine names (SPEC "Limits"). Mirrors NAME_RE of limits.ts. */
export const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$';
/** Resource ids (rules, commands, jobs, alerts, keys, channels…): URL-safe, ≤ 128 characters. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
/** Group names: like names, but may start with a digit. */
export const GROUP_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$';
/** Semantic Versioning 2.0.0 (semver.org's regular expression). */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)' +
  '(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?' +
  '(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';
/** Standard base64 with padding. */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
/** A string without control characters (tag values, labels). */
export const PRINTABLE_PATTERN = '^[^\\u0000-\\u001f\\u007f]*$';

export const V1 = Type.Literal(1);

/** Text without control characters (tag values, labels); unbounded when `maxLength` is absent. */
export function printableText(minLength: number, maxLength?: number): ReturnType<typeof Type.String> {
  const bounds = maxLength === undefined ? { minLength } : { minLength, maxLength };
  return Type.String({ ...bounds, pattern: PRINTABLE_PATTERN, description: 'text without control characters' });
}

export const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 64 });
export const Id = Type.String({ pattern: ID_PATTERN, maxLength: 128 });
export const Name = Type.String({ pattern: NAME_PATTERN, maxLength: 64 });
export const GroupName = Type.String({ pattern: GROUP_PATTERN, maxLength: 64 });
export const Semver = Type.String({ pattern: SEMVER_PATTERN, maxLength: 128, description: 'a semantic version such as 1.2.3' });
/** A human-readable label or title. */
export const Title = Type.String({ minLength: 1, maxLength: 256 });
/** A shell command line run by the agent. */
export const CommandLine = Type.String({ minLength: 1, maxLength: 4096 });

/** Epoch milliseconds. */
export const EpochMs = Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS });
/** A count, a version, a size: a non-negative safe integer. */
export const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A duration or interval in milliseconds: at least 1 ms, at most 366 days. */
export const DurationMs = Type.Integer({ minimum: 1, maximum: 31_622_400_000 });
/** A duration in milliseconds that may be 0 (e.g. `forMs: 0` fires at once). */
export const DelayMs = Type.Integer({ minimum: 0, maximum: 31_622_400_000 });
/** A duration in seconds: at least 1 s, at most 366 days. */
export const DurationS = Type.Integer({ minimum: 1, maximum: 31_622_400 });
export const Base64 = Type.String({ pattern: BASE64_PATTERN, minLength: 4, maxLength: 4096, description: 'base64 text' });

export const Severity = Type.Enum(['info', 'warning', 'critical']);
export type Severity = Static<typeof Severity>;

/** `{code, message}` as carried by ReportedConfig, CommandResult, OtaProgress and DeviceStatus. */
export const ErrorInfo = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type ErrorInfo = Static<typeof ErrorInfo>;
