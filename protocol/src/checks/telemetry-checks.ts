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

type Finding = readonly [code: PublishErrorCode, message: string];

/** A name's problem with the pattern or the reserved names. `what` is `metric` or `tag`. */
function nameFinding(name: string, what: string, limits: ProtocolLimits): Finding | undefined {
  if (name === '__proto__') return ['NAME_INVALID', `${what} name "__proto__" is not allowed`];
  if (!limits.namePattern.test(name)) {
    return ['NAME_INVALID', `${what} name ${quote(name)} does not match ${limits.namePattern.source}`];
  }
  if (limits.reservedNames.includes(name)) return ['NAME_RESERVED', `${what} name ${quote(name)} is reserved`];
  return undefined;
}

function tsFinding(ts: number, limits: ProtocolLimits, now: number): Finding | undefined {
  if (ts < now - limits.tsMaxPastMs) {
    return ['TS_OUT_OF_RANGE', `${ts} is ${formatDuration(now - ts)} in the past, the limit is ${formatDuration(limits.tsMaxPastMs)}`];
  }
  if (ts > now + limits.tsMaxFutureMs) {
    return ['TS_OUT_OF_RANGE', `${ts} is ${formatDuration(ts - now)} in the future, the limit is ${formatDuration(limits.tsMaxFutureMs)}`];
  }
  return undefined;
}

function metricFinding(
  name: string,
  value: MetricValue,
  index: number,
  seen: Map<string, { type: MetricType; index: number }>,
  limits: ProtocolLimits,
): Finding | undefined {
  const first = seen.get(name);
  // A name seen in an earlier sample of the batch was checked then.
  const nameProblem = first === undefined ? nameFinding(name, 'metric', limits) : undefined;
  if (nameProblem) return nameProblem;
  if (typeof value === 'string' && value.length > limits.maxStringMetricLength) {
    return ['PAYLOAD_INVALID', `string of ${value.length} characters, the limit is ${limits.maxStringMetricLength}`];
  }
  const type = metricTypeOf(value);
  if (first === undefined) seen.set(name, { type, index });
  else if (first.type !== type) {
    return ['TYPE_CONFLICT', `${TYPE_WORDS[type]}, but samples[${first.index}] sent ${quote(name)} as ${TYPE_WORDS[first.type]}; a metric keeps one type`];
  }
  return undefined;
}

function tagFinding(name: string, value: string, sample: TelemetrySample, limits: ProtocolLimits): Finding | undefined {
  const nameProblem = nameFinding(name, 'tag', limits);
  if (nameProblem) return nameProblem;
  if (Object.hasOwn(sample.metrics, name)) return ['NAME_RESERVED', `tag name ${quote(name)} is also a metric of the same sample`];
  if (value.length > limits.maxTagValueLength) {
    return ['PAYLOAD_INVALID', `tag value of ${value.length} characters, the limit is ${limits.maxTagValueLength}`];
  }
  return undefined;
}

/** Paths are built only for the refusal: a valid batch allocates none. */
function checkSample(
  sample: TelemetrySample,
  index: number,
  seen: Map<string, { type: MetricType; index: number }>,
  limits: ProtocolLimits,
  now: number,
): Problem | undefined {
  // for…in with an own-key guard instead of Object.keys: no array per sample on the hot path.
  let count = 0;
  for (const name in sample.metrics) if (Object.hasOwn(sample.metrics, name)) count += 1;
  if (count > limits.maxMetrics) {
    return at('TOO_MANY_METRICS', ['samples', index, 'metrics'], `${count} metrics, the limit is ${limits.maxMetrics}`);
  }
  const ts = tsFinding(sample.ts, limits, now);
  if (ts) return at(ts[0], ['samples', index, 'ts'], ts[1]);
  for (const name in sample.metrics) {
    if (!Object.hasOwn(sample.metrics, name)) continue;
    const value = sample.metrics[name];
    const found = value === undefined ? undefined : metricFinding(name, value, index, seen, limits);
    if (found) return at(found[0], ['samples', index, 'metrics', name], found[1]);
  }
  if (sample.tags === undefined) return undefined;
  for (const name in sample.tags) {
    if (!Object.hasOwn(sample.tags, name)) continue;
    const value = sample.tags[name];
    const found = value === undefined ? undefined : tagFinding(name, value, sample, limits);
    if (found) return at(found[0], ['samples', index, 'tags', name], found[1]);
  }
  return undefined;
}

/** The first limit a schema-valid batch breaks, or undefined. `now` is epoch ms. */
export function checkTelemetryBatch(batch: TelemetryBatch, limits: ProtocolLimits, now: number): Problem | undefined {
  if (batch.samples.length > limits.maxSamples) {
    return at('TOO_MANY_SAMPLES', ['samples'], `${batch.samples.length} samples, the limit is ${limits.maxSamples}`);
  }
  const seen = new Map<string, { type: MetricType; index: number }>();
  for (let index = 0; index < batch.samples.length; index += 1) {
    const sample = batch.samples[index];
    const found = sample === undefined ? undefined : checkSample(sample, index, seen, limits, now);
    if (found) return found;
  }
  return undefined;
}
