/**
 * Coded errors shared by every part. A code is a stable, SCREAMING_SNAKE_CASE string; the
 * table below gives each common code its HTTP status (the agent reads them; the server's one
 * table, kernel's ERROR_STATUS, starts from these). Nothing is guessed from a code's suffix:
 * a part's own code gets its status from kernel's table on the server.
 */

/** The payload-violation codes of SPEC "PublishError": permanent, explained on `devices/{id}/errors`. */
export const PUBLISH_ERROR_CODES = [
  'PAYLOAD_INVALID',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_SAMPLES',
  'TOO_MANY_METRICS',
  'NAME_INVALID',
  'NAME_RESERVED',
  'TS_OUT_OF_RANGE',
  'TYPE_CONFLICT',
] as const;
export type PublishErrorCode = (typeof PUBLISH_ERROR_CODES)[number];

/** Why a topic or a topic filter is refused (see topics.ts). */
export const TOPIC_ERROR_CODES = [
  'TOPIC_INVALID',
  'TOPIC_TOO_LONG',
  'TOPIC_WILDCARD',
  'TOPIC_RESERVED',
  'TOPIC_FOREIGN',
  'TOPIC_UNKNOWN',
  'TOPIC_FORBIDDEN',
  'DEVICE_ID_INVALID',
] as const;
export type TopicErrorCode = (typeof TOPIC_ERROR_CODES)[number];

/** Every common code with its HTTP status and a one-line meaning. */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, meaning: 'the input does not satisfy its schema or a rule' },
  UNAUTHENTICATED: { status: 401, meaning: 'no valid credentials were presented' },
  FORBIDDEN: { status: 403, meaning: 'the caller may not do this' },
  NOT_FOUND: { status: 404, meaning: 'no such resource' },
  CONFLICT: { status: 409, meaning: 'the resource exists or changed meanwhile' },
  GONE: { status: 410, meaning: 'the resource expired or was used up' },
  RATE_LIMITED: { status: 429, meaning: 'too many requests; retry later' },
  INTERNAL: { status: 500, meaning: 'an unexpected failure' },
  NOT_SUPPORTED: { status: 501, meaning: 'not supported yet' },
  UNAVAILABLE: { status: 503, meaning: 'temporarily unable to serve; retry later' },
  PAYLOAD_INVALID: { status: 400, meaning: 'the payload is not valid JSON or breaks its schema' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the payload exceeds the size limit' },
  TOO_MANY_SAMPLES: { status: 400, meaning: 'a telemetry batch holds more samples than allowed' },
  TOO_MANY_METRICS: { status: 400, meaning: 'a telemetry sample holds more metrics than allowed' },
  NAME_INVALID: { status: 400, meaning: 'a metric or tag name does not match the name pattern' },
  NAME_RESERVED: { status: 400, meaning: 'a metric or tag name is reserved' },
  TS_OUT_OF_RANGE: { status: 400, meaning: 'a timestamp is too far in the past or the future' },
  TYPE_CONFLICT: { status: 409, meaning: "a metric value's type differs from the metric's fixed type" },
  TOPIC_INVALID: { status: 400, meaning: 'the topic is malformed' },
  TOPIC_TOO_LONG: { status: 400, meaning: 'the topic exceeds the length limit' },
  TOPIC_WILDCARD: { status: 400, meaning: 'wildcards are not allowed here' },
  TOPIC_RESERVED: { status: 403, meaning: 'the topic is reserved to the broker ($SYS)' },
  TOPIC_FOREIGN: { status: 403, meaning: 'the topic is outside the Outpost namespace' },
  TOPIC_UNKNOWN: { status: 404, meaning: 'no such topic' },
  TOPIC_FORBIDDEN: { status: 403, meaning: "the topic belongs to another device or the other direction" },
  DEVICE_ID_INVALID: { status: 400, meaning: 'the device id does not match the device id pattern' },
} as const satisfies Readonly<Record<string, { status: number; meaning: string }>>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface OutpostErrorOptions {
  /** The error this one explains. */
  readonly cause?: unknown;
  /** Structured, loggable context (never secrets): e.g. the list of problems of a validation. */
  readonly details?: unknown;
  /** An explicit HTTP status; it wins over the tables (rarely needed: write the code in kernel's ERROR_STATUS). */
  readonly status?: number;
}

/** The one error class of Outpost: a code, a human message, an optional cause and details. */
export class OutpostError extends Error {
  override readonly name = 'OutpostError';
  readonly code: string;
  readonly details: unknown;
  readonly status: number | undefined;

  constructor(code: ErrorCode | (string & NonNullable<unknown>), message: string, options: OutpostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.status = options.status;
  }
}

export function isOutpostError(value: unknown): value is OutpostError {
  return value instanceof OutpostError;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export function isPublishErrorCode(code: string): code is PublishErrorCode {
  return (PUBLISH_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * The HTTP status for an error or a common code: the error's explicit status, else the common
 * table's, else 500 — never guessed from a suffix. (The server answers from kernel's ERROR_STATUS.)
 */
export function httpStatusOf(errorOrCode: OutpostError | string): number {
  if (typeof errorOrCode !== 'string' && errorOrCode.status !== undefined) return errorOrCode.status;
  const code = typeof errorOrCode === 'string' ? errorOrCode : errorOrCode.code;
  return isErrorCode(code) ? ERROR_CODES[code].status : 500;
}
