/**
 * The payload codec. `decodePayload` turns untrusted bytes into a typed payload or a precise
 * refusal and never throws: size first (on the raw input), then UTF-8 and JSON, then the
 * schema (with the path of the field at fault), then the checks a schema cannot express
 * (telemetry limits and names, rule requirements). Validators are compiled once per kind, on
 * first use.
 */
import { Compile } from 'typebox/compile';
import { checkConfig, checkRegistryEvent, checkRule } from './checks/config-checks.js';
import { normalizeDurations } from './checks/durations.js';
import { checkTelemetryBatch } from './checks/telemetry-checks.js';
import { isTelemetryBatchJson } from './checks/telemetry-shape.js';
import type { PublishErrorCode } from './errors.js';
import { parseJson, readText } from './json-input.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { ProtocolLimits } from './limits.js';
import { isPayloadKind, PAYLOAD_SCHEMAS } from './payloads.js';
import type { PayloadKind, PayloadOf } from './payloads.js';
import type { Failure, Result } from './result.js';
import { fail, ok } from './result.js';
import { formatPath } from './json-path.js';
import { schemaProblem } from './schema-errors.js';
import type { ValidatorError } from './schema-errors.js';
import type { AgentConfig, DesiredConfig } from './schemas/desired-config.js';
import type { RegistryEvent } from './schemas/registry-event.js';
import type { Rule } from './schemas/rule.js';
import type { TelemetryBatch } from './schemas/telemetry.js';

export interface DecodeOptions {
  /** The limits to enforce; DEFAULT_LIMITS when absent. Resolve them once with resolveLimits. */
  readonly limits?: ProtocolLimits;
  /** The current time in epoch ms, for the telemetry `ts` window; Date.now() when absent. */
  readonly now?: number;
}

export type DecodeFailure = Failure<PublishErrorCode>;
export type DecodeResult<T> = Result<T, PublishErrorCode>;

interface Checker {
  Check(value: unknown): boolean;
  Errors(value: unknown): readonly ValidatorError[];
}

const checkers = new Map<PayloadKind, Checker>();

function checkerFor(kind: PayloadKind): Checker {
  let checker = checkers.get(kind);
  if (checker === undefined) {
    checker = Compile(PAYLOAD_SCHEMAS[kind]);
    checkers.set(kind, checker);
  }
  return checker;
}

function schemaFailure(kind: PayloadKind, checker: Checker, value: unknown): DecodeFailure {
  const found = schemaProblem(PAYLOAD_SCHEMAS[kind], value, () => checker.Errors(value));
  const where = formatPath(found.path);
  return fail('PAYLOAD_INVALID', `${where === '' ? 'payload' : where}: ${found.message}`, where);
}

function semanticFailure(kind: PayloadKind, value: unknown, limits: ProtocolLimits, now: number): DecodeFailure | undefined {
  switch (kind) {
    case 'TelemetryBatch':
      return checkTelemetryBatch(value as TelemetryBatch, limits, now);
    case 'Rule':
      return checkRule(value as Rule);
    case 'DesiredConfig':
    case 'AgentConfig':
      return checkConfig(value as DesiredConfig | AgentConfig);
    case 'RegistryEvent':
      return checkRegistryEvent(value as RegistryEvent);
    default:
      return undefined;
  }
}

function unexpected(error: unknown): DecodeFailure {
  const message = error instanceof Error ? error.message : String(error);
  return fail('PAYLOAD_INVALID', `payload could not be checked: ${message.slice(0, 160)}`);
}

/**
 * Validates an already-parsed value (e.g. a body fastify parsed) as payload `kind`: schema,
 * then semantic checks. Never throws.
 */
export function validatePayload<K extends PayloadKind>(
  kind: K,
  value: unknown,
  options: DecodeOptions = {},
): DecodeResult<PayloadOf<K>> {
  return validateValue(kind, value, options, false);
}

/** `fromJson`: `value` is JSON.parse's output (plain data), so a TelemetryBatch may take the one-pass shape check. */
function validateValue<K extends PayloadKind>(kind: K, value: unknown, options: DecodeOptions, fromJson: boolean): DecodeResult<PayloadOf<K>> {
  try {
    if (!isPayloadKind(kind)) return fail('PAYLOAD_INVALID', `unknown payload kind ${JSON.stringify(String(kind))}`);
    let candidate = value;
    if (kind === 'AgentConfig') {
      const normalized = normalizeDurations(value);
      if (!normalized.ok) return normalized;
      candidate = normalized.value;
    }
    // The telemetry hot path: a one-pass check of JSON data that accepts only what the schema
    // accepts; anything it does not accept goes to the compiled schema, which decides and words
    // the refusal.
    const shaped = fromJson && kind === 'TelemetryBatch' && isTelemetryBatchJson(candidate);
    const checker = checkerFor(kind);
    if (!shaped && !checker.Check(candidate)) return schemaFailure(kind, checker, candidate);
    const problem = semanticFailure(kind, candidate, options.limits ?? DEFAULT_LIMITS, options.now ?? Date.now());
    return problem ?? ok(candidate as PayloadOf<K>);
  } catch (error) {
    return unexpected(error);
  }
}

/**
 * Decodes untrusted bytes (or text) as payload `kind`. Never throws; a refusal carries a
 * PublishError code, a reason naming the field, and the field's path.
 */
export function decodePayload<K extends PayloadKind>(
  kind: K,
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult<PayloadOf<K>> {
  try {
    const limits = options.limits ?? DEFAULT_LIMITS;
    const text = readText(input, limits.maxPayloadBytes);
    if (!text.ok) return text;
    const parsed = parseJson(text.value);
    if (!parsed.ok) return parsed;
    return validateValue(kind, parsed.value, options, true);
  } catch (error) {
    return unexpected(error);
  }
}

/** Encodes a payload as JSON text. The value is trusted (typed); nothing is checked. */
export function encodePayload<K extends PayloadKind>(_kind: K, value: PayloadOf<K>): string {
  return JSON.stringify(value);
}
