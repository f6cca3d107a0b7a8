import { describe, expect, it } from 'vitest';
import { decodePayload, metricTypeOf, resolveLimits } from '../../src/index.js';
import type { DecodeOptions } from '../../src/index.js';
import { NOW } from '../fixtures/payloads.js';

const DAY = 86_400_000;

const sample = (metrics: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ts: NOW,
  metrics,
  ...extra,
});

function decodeSamples(samples: unknown[], options: DecodeOptions = {}): ReturnType<typeof decodePayload<'TelemetryBatch'>> {
  return decodePayload('TelemetryBatch', JSON.stringify({ v: 1, seq: 9, samples }), { now: NOW, ...options });
}

type Row = [label: string, samples: unknown[], code: string, path: string, reason: string];

const REFUSED: Row[] = [
  [
    'a sample with more metrics than allowed',
    [sample({ a: 1 }), sample({ a: 2 }), sample({ a: 3 }), sample(Object.fromEntries(Array.from({ length: 142 }, (_, i) => [`m${i}`, i])))],
    'TOO_MANY_METRICS',
    'samples[3].metrics',
    'samples[3].metrics: 142 metrics, the limit is 100',
  ],
  ['a metric name that breaks the pattern', [sample({ '9lives': 1 })], 'NAME_INVALID', 'samples[0].metrics["9lives"]', 'samples[0].metrics["9lives"]: metric name "9lives" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['an over-long metric name', [sample({ [`a${'b'.repeat(64)}`]: 1 })], 'NAME_INVALID', `samples[0].metrics["a${'b'.repeat(56)}..."]`, `samples[0].metrics["a${'b'.repeat(56)}..."]: metric name "a${'b'.repeat(56)}..." does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`],
  ['an empty metric name', [sample({ '': 1 })], 'NAME_INVALID', 'samples[0].metrics[""]', 'samples[0].metrics[""]: metric name "" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['a metric name with a newline', [sample({ 'a\nb': 1 })], 'NAME_INVALID', 'samples[0].metrics["a\\nb"]', 'samples[0].metrics["a\\nb"]: metric name "a\\nb" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['the metric name __proto__', [], 'NAME_INVALID', 'samples[0].metrics.__proto__', 'samples[0].metrics.__proto__: metric name "__proto__" is not allowed'],
  ['the reserved metric name time', [sample({ time: 1 })], 'NAME_RESERVED', 'samples[0].metrics.time', 'samples[0].metrics.time: metric name "time" is reserved'],
  ['the reserved tag name device', [sample({ temp: 1 }, { tags: { device: 'x' } })], 'NAME_RESERVED', 'samples[0].tags.device', 'samples[0].tags.device: tag name "device" is reserved'],
  ['a tag named like a metric of its sample', [sample({ temp: 1, site: 2 }, { tags: { site: 'north' } })], 'NAME_RESERVED', 'samples[0].tags.site', 'samples[0].tags.site: tag name "site" is also a metric of the same sample'],
  ['a tag name that breaks the pattern', [sample({ temp: 1 }, { tags: { 'my tag': 'x' } })], 'NAME_INVALID', 'samples[0].tags["my tag"]', 'samples[0].tags["my tag"]: tag name "my tag" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['a ts more than 30 days old', [sample({ a: 1 }), sample({ a: 1 }, { ts: NOW - 45 * DAY })], 'TS_OUT_OF_RANGE', 'samples[1].ts', `samples[1].ts: ${NOW - 45 * DAY} is 45 days in the past, the limit is 30 days`],
  ['a ts more than 5 minutes ahead', [sample({ a: 1 }, { ts: NOW + 6 * 60_000 })], 'TS_OUT_OF_RANGE', 'samples[0].ts', `samples[0].ts: ${NOW + 360_000} is 6 minutes in the future, the limit is 5 minutes`],
  ['a string metric over 256 characters', [sample({ note: 'x'.repeat(257) })], 'PAYLOAD_INVALID', 'samples[0].metrics.note', 'samples[0].metrics.note: string of 257 characters, the limit is 256'],
  ['a tag value over 128 characters', [sample({ a: 1 }, { tags: { site: 'x'.repeat(129) } })], 'PAYLOAD_INVALID', 'samples[0].tags.site', 'samples[0].tags.site: tag value of 129 characters, the limit is 128'],
  ['an empty tag value', [sample({ a: 1 }, { tags: { site: '' } })], 'PAYLOAD_INVALID', 'samples[0].tags.site', 'samples[0].tags.site: must not be empty'],
  ['a tag value with a control character', [sample({ a: 1 }, { tags: { site: 'a\tb' } })], 'PAYLOAD_INVALID', 'samples[0].tags.site', 'samples[0].tags.site: must be text without control characters, got "a\\tb"'],
  ['a tag value that is not a string', [sample({ a: 1 }, { tags: { floor: 3 } })], 'PAYLOAD_INVALID', 'samples[0].tags.floor', 'samples[0].tags.floor: must be a string, got 3'],
  ['a metric whose type changes within the batch', [sample({ temp: 1 }), sample({ temp: 2 }), sample({ temp: 'hot' })], 'TYPE_CONFLICT', 'samples[2].metrics.temp', 'samples[2].metrics.temp: a string, but samples[0] sent "temp" as a number; a metric keeps one type'],
  ['a boolean after a string', [sample({ mode: 'eco' }), sample({ mode: true })], 'TYPE_CONFLICT', 'samples[1].metrics.mode', 'samples[1].metrics.mode: a boolean, but samples[0] sent "mode" as a string; a metric keeps one type'],
  ['a sample without metrics', [sample({})], 'PAYLOAD_INVALID', 'samples[0].metrics', 'samples[0].metrics: must have at least 1 field'],
  ['a metric that is an object', [sample({ temp: { c: 1 } })], 'PAYLOAD_INVALID', 'samples[0].metrics.temp', 'samples[0].metrics.temp: must be a number, a boolean or a string, got an object'],
  ['a metric that is null', [sample({ temp: null })], 'PAYLOAD_INVALID', 'samples[0].metrics.temp', 'samples[0].metrics.temp: must be a number, a boolean or a string, got null'],
  ['a ts that is a date string', [sample({ a: 1 }, { ts: '2024-01-01T00:00:00Z' })], 'PAYLOAD_INVALID', 'samples[0].ts', 'samples[0].ts: must be an integer, got "2024-01-01T00:00:00Z"'],
  ['a ts in seconds with a fraction', [sample({ a: 1 }, { ts: 1_700_000_000.5 })], 'PAYLOAD_INVALID', 'samples[0].ts', 'samples[0].ts: must be an integer, got 1700000000.5'],
  ['a sample without ts', [{ metrics: { a: 1 } }], 'PAYLOAD_INVALID', 'samples[0].ts', 'samples[0].ts: required field missing'],
  ['an empty batch', [], 'PAYLOAD_INVALID', 'samples', 'samples: must have at least 1 item'],
];

describe('telemetry checks', () => {
  it.each(REFUSED)('refuses %s', (label, samples, code, path, reason) => {
    const text =
      label === 'the metric name __proto__'
        ? `{"v":1,"seq":1,"samples":[{"ts":${NOW},"metrics":{"__proto__":1}}]}`
        : JSON.stringify({ v: 1, seq: 9, samples });
    expect(decodePayload('TelemetryBatch', text, { now: NOW })).toEqual({ ok: false, code, reason, path });
  });

  it('refuses more samples than allowed', () => {
    const samples = Array.from({ length: 1001 }, () => sample({ a: 1 }));
    expect(decodeSamples(samples)).toEqual({
      ok: false,
      code: 'TOO_MANY_SAMPLES',
      reason: 'samples: 1001 samples, the limit is 1000',
      path: 'samples',
    });
  });

  it('accepts exactly the limits', () => {
    const metrics = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i]));
    const samples = Array.from({ length: 1000 }, (_, i) => sample({ a: i }, { ts: NOW - 30 * DAY + i }));
    samples[0] = sample(metrics, { ts: NOW + 5 * 60_000, tags: { site: 'x'.repeat(128) } });
    expect(decodeSamples(samples, { limits: resolveLimits({ maxPayloadBytes: 1_000_000 }) }).ok).toBe(true);
    expect(decodeSamples([sample({ note: 'x'.repeat(256) })]).ok).toBe(true);
  });

  it('judges ts against the injected clock', () => {
    const old = [sample({ a: 1 }, { ts: NOW - 40 * DAY })];
    expect(decodeSamples(old).ok).toBe(false);
    expect(decodeSamples(old, { now: NOW - 20 * DAY }).ok).toBe(true);
  });

  it('applies configured limits and reserved names', () => {
    const limits = resolveLimits({
      maxSamples: 2,
      maxMetrics: 1,
      reservedNames: ['host'],
      maxStringMetricLength: 3,
      maxTagValueLength: 2,
      tsMaxPastMs: 1000,
      tsMaxFutureMs: 1000,
      namePattern: /^[a-z]+$/,
    });
    const check = (samples: unknown[]): string | undefined => {
      const result = decodeSamples(samples, { limits });
      return result.ok ? undefined : result.reason;
    };
    expect(check([sample({ a: 1 }), sample({ a: 1 }), sample({ a: 1 })])).toBe('samples: 3 samples, the limit is 2');
    expect(check([sample({ a: 1, b: 2 })])).toBe('samples[0].metrics: 2 metrics, the limit is 1');
    expect(check([sample({ host: 1 })])).toBe('samples[0].metrics.host: metric name "host" is reserved');
    expect(check([sample({ time: 1 })])).toBeUndefined();
    expect(check([sample({ Temp: 1 })])).toBe('samples[0].metrics.Temp: metric name "Temp" does not match ^[a-z]+$');
    expect(check([sample({ a: 'abcd' })])).toBe('samples[0].metrics.a: string of 4 characters, the limit is 3');
    expect(check([sample({ a: 1 }, { tags: { b: 'abc' } })])).toBe('samples[0].tags.b: tag value of 3 characters, the limit is 2');
    expect(check([sample({ a: 1 }, { ts: NOW - 1500 })])).toBe(`samples[0].ts: ${NOW - 1500} is 1.5 seconds in the past, the limit is 1 second`);
    expect(check([sample({ a: 1 }, { ts: NOW + 1001 })])).toBe(`samples[0].ts: ${NOW + 1001} is 1 second in the future, the limit is 1 second`);
  });

  it('accepts numbers, booleans and strings as metric values', () => {
    expect(decodeSamples([sample({ t: -1.5e3, on: false, mode: 'eco', big: Number.MAX_VALUE })]).ok).toBe(true);
  });
});

describe('metricTypeOf', () => {
  it.each([
    [1, 'float'],
    [1.5, 'float'],
    [true, 'boolean'],
    ['x', 'string'],
  ] as const)('stores %j as %s', (value, type) => {
    expect(metricTypeOf(value)).toBe(type);
  });
});

describe('reasons', () => {
  it('stay short enough for a PublishError whatever the names sent', () => {
    const name = 'x y'.repeat(70_000);
    const result = decodeSamples([sample({ [name]: 1 })]);
    expect(result).toMatchObject({ ok: false, code: 'NAME_INVALID' });
    if (!result.ok) {
      expect(result.reason.length).toBeLessThanOrEqual(1024);
      const error = { v: 1, topic: 'devices/pi-0001/telemetry', seq: 9, code: result.code, reason: result.reason };
      expect(decodePayload('PublishError', JSON.stringify(error)).ok).toBe(true);
    }
  });
});
