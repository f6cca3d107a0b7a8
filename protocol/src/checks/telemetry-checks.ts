/**
 * The telemetry checks that follow the schema (SPEC "Limits"): sample and metric counts,
 * names (pattern, reserved, a tag named like a metric of its sample), the `ts` window, string
 * lengths, and one type per metric within the batch.
 */
import type { PublishErrorCode } from '../errors.js';
import type { ProtocolLimits } from '../limits.js';
import type { Failure } from '../result.js';
import { fail } from '../result.js';
import { formatPath, quote } from '../json-path.js';
import type { PathSegment } from '../json-path.js';
import type { MetricValue, TelemetryBatch, TelemetrySample } from '../schemas/telemetry.js';
import { formatDuration } from './format.js';

/** How a metric's values are stored: numbers always as floats (SPEC "Limits"). */
export type MetricType = 'float' | 'boolean' | 'string';

export function metricTypeOf(value: MetricValue): MetricType {
  if (typeof value === 'number') return 'float';
  return typeof value === 'boolean' ? 'boolean' : 'string';
}

const TYPE_WORDS: Readonly<Record<MetricType, string>> = { float: 'a number', boolean: 'a boolean', string: 'a string' };

type Problem = Failure<PublishErrorCode>;

function at(code: PublishErrorCode, path: readonly PathSegment[], message: string): Problem {
  const where = formatPath(path);
  return fail(code, `${where}: ${message}`, where);
}

/** Checks a name against the pattern and the reserved names. `what` is `metric` or `tag`. */
function checkName(name: string, what: string, path: readonly PathSegment[], limits: ProtocolLimits): Problem | undefined {
  if (name === '__proto__') return at('NAME_INVALID', path, `${what} name "__proto__" is not allowed`);
  if (!limits.namePattern.test(name)) {
    return at('NAME_INVALID', path, `${what} name ${quote(name)} does not match ${limits.namePattern.source}`);
  }
  if (limits.reservedNames.includes(name)) return at('NAME_RESERVED', path, `${what} name ${quote(name)} is reserved`);
  return undefined;
}

function checkTs(ts: number, path: readonly PathSegment[], limits: ProtocolLimits, now: number): Problem | undefined {
  if (ts < now - limits.tsMaxPastMs) {
    return at('TS_OUT_OF_RANGE', path, `${ts} is ${formatDuration(now - ts)} in the past, the limit is ${formatDuration(limits.tsMaxPastMs)}`);
  }
  if (ts > now + limits.tsMaxFutureMs) {
    return at('TS_OUT_OF_RANGE', path, `${ts} is ${formatDuration(ts - now)} in the future, the limit is ${formatDuration(limits.tsMaxFutureMs)}`);
  }
  return undefined;
}

function checkSample(
  sample: TelemetrySample,
  index: number,
  seen: Map<string, { type: MetricType; index: number }>,
  limits: ProtocolLimits,
  now: number,
): Problem | undefined {
  const base: readonly PathSegment[] = ['samples', index];
  const names = Object.keys(sample.metrics);
  if (names.length > limits.maxMetrics) {
    return at('TOO_MANY_METRICS', [...base, 'metrics'], `${names.length} metrics, the limit is ${limits.maxMetrics}`);
  }
  const tsProblem = checkTs(sample.ts, [...base, 'ts'], limits, now);
  if (tsProblem) return tsProblem;
  for (const name of names) {
    const path = [...base, 'metrics', name];
    const nameProblem = checkName(name, 'metric', path, limits);
    if (nameProblem) return nameProblem;
    const value = sample.metrics[name];
    if (value === undefined) continue;
    if (typeof value === 'string' && value.length > limits.maxStringMetricLength) {
      return at('PAYLOAD_INVALID', path, `string of ${value.length} characters, the limit is ${limits.maxStringMetricLength}`);
    }
    const type = metricTypeOf(value);
    const first = seen.get(name);
    if (first === undefined) seen.set(name, { type, index });
    else if (first.type !== type) {
      return at('TYPE_CONFLICT', path, `${TYPE_WORDS[type]}, but samples[${first.index}] sent ${quote(name)} as ${TYPE_WORDS[first.type]}; a metric keeps one type`);
    }
  }
  for (const [name, value] of Object.entries(sample.tags ?? {})) {
    const path = [...base, 'tags', name];
    const nameProblem = checkName(name, 'tag', path, limits);
    if (nameProblem) return nameProblem;
    if (Object.hasOwn(sample.metrics, name)) {
      return at('NAME_RESERVED', path, `tag name ${quote(name)} is also a metric of the same sample`);
    }
    if (value.length > limits.maxTagValueLength) {
      return at('PAYLOAD_INVALID', path, `tag value of ${value.length} characters, the limit is ${limits.maxTagValueLength}`);
    }
  }
  return undefined;
}

/** The first limit a schema-valid batch breaks, or undefined. `now` is epoch ms. */
export function checkTelemetryBatch(batch: TelemetryBatch, limits: ProtocolLimits, now: number): Problem | undefined {
  if (batch.samples.length > limits.maxSamples) {
    return at('TOO_MANY_SAMPLES', ['samples'], `${batch.samples.length} samples, the limit is ${limits.maxSamples}`);
  }
  const seen = new Map<string, { type: MetricType; index: number }>();
  for (const [index, sample] of batch.samples.entries()) {
    const found = checkSample(sample, index, seen, limits, now);
    if (found) return found;
  }
  return undefined;
}
