import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  PAYLOAD_KINDS,
  decodePayload,
  encodePayload,
  resolveLimits,
  validatePayload,
} from '../src/index.js';
import type { DecodeResult, PayloadKind, ProtocolLimits, TelemetryBatch } from '../src/index.js';
import { NOW, VALID } from './fixtures/payloads.js';

const batch = (samples: unknown): string => JSON.stringify({ v: 1, seq: 1, samples });

function failure<T>(result: DecodeResult<T>): { code: string; reason: string; path?: string } {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result;
}

describe('decodePayload', () => {
  it.each(PAYLOAD_KINDS)('decodes a valid %s from bytes and from text', (kind) => {
    for (const example of [VALID[kind].minimal, VALID[kind].full]) {
      const text = JSON.stringify(example);
      expect(decodePayload(kind, text, { now: NOW })).toEqual({ ok: true, value: example });
      expect(decodePayload(kind, new TextEncoder().encode(text), { now: NOW })).toEqual({ ok: true, value: example });
      expect(decodePayload(kind, Buffer.from(text), { now: NOW })).toEqual({ ok: true, value: example });
    }
  });

  it('types the decoded value by kind', () => {
    const result = decodePayload('TelemetryBatch', '{}');
    expectTypeOf(result).toEqualTypeOf<DecodeResult<TelemetryBatch>>();
    if (result.ok) expectTypeOf(result.value.samples[0]?.metrics).toEqualTypeOf<Record<string, string | number | boolean> | undefined>();
  });

  it('refuses bytes over the size limit before reading them', () => {
    const bytes = new Uint8Array(DEFAULT_LIMITS.maxPayloadBytes + 1).fill(0xff);
    expect(decodePayload('TelemetryBatch', bytes)).toEqual({
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'payload of 262145 bytes, the limit is 262144',
    });
  });

  it('refuses a 10 MB input as too large, not as invalid JSON', () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, '{');
    expect(failure(decodePayload('TelemetryBatch', huge))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'payload of 10485760 bytes, the limit is 262144',
    });
    expect(failure(decodePayload('TelemetryBatch', huge.toString('latin1')))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'payload of at least 10485760 bytes, the limit is 262144',
    });
  });

  it('measures text in UTF-8 bytes, not characters', () => {
    const limits = resolveLimits({ maxPayloadBytes: 16 });
    expect(failure(decodePayload('PublishError', '"ééééééééé"', { limits }))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'payload of 20 bytes, the limit is 16',
    });
    expect(failure(decodePayload('PublishError', '"éé"', { limits })).code).toBe('PAYLOAD_INVALID');
  });

  it('accepts a payload exactly at the size limit', () => {
    const text = JSON.stringify(VALID.TelemetryBatch.minimal);
    const limits = resolveLimits({ maxPayloadBytes: text.length });
    expect(decodePayload('TelemetryBatch', text, { limits, now: NOW }).ok).toBe(true);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(decodePayload('TelemetryBatch', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'not valid JSON: the bytes are not valid UTF-8',
    });
  });

  it.each(['hello', '{"v":1', "{'v':1}", '{"v":1,}', 'NaN', '\u0000'])('refuses non-JSON text %j', (text) => {
    const refused = failure(decodePayload('TelemetryBatch', text));
    expect(refused.code).toBe('PAYLOAD_INVALID');
    expect(refused.reason).toMatch(/^not valid JSON: .+/);
    expect(refused.reason.length).toBeLessThanOrEqual(180);
  });

  it.each(['', '   \n'])('refuses an empty payload %j', (text) => {
    expect(failure(decodePayload('DeviceStatus', text)).reason).toBe('not valid JSON: the payload is empty');
  });

  it('refuses deeply nested JSON at the first field that should not nest', () => {
    const limits = resolveLimits({ maxPayloadBytes: 1_000_000 });
    const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(decodePayload('TelemetryBatch', deep(100_000), { limits })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'payload: must be an object, got an array',
    });
    const nestedMetric = `{"v":1,"seq":1,"samples":[{"ts":${NOW},"metrics":{"temp":${deep(100_000)}}}]}`;
    expect(decodePayload('TelemetryBatch', nestedMetric, { limits, now: NOW })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'samples[0].metrics.temp: must be a number, a boolean or a string, got an array',
      path: 'samples[0].metrics.temp',
    });
    const nestedConfig = `{"collectors":[{"type":"system","intervalMs":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}]}`;
    expect(decodePayload('AgentConfig', nestedConfig, { limits })).toMatchObject({
      ok: false,
      reason: 'collectors[0].intervalMs: must be an integer, got an object',
    });
  });

  it('refuses input that is neither bytes nor text', () => {
    const input = 42 as unknown as string;
    expect(failure(decodePayload('TelemetryBatch', input)).code).toBe('PAYLOAD_INVALID');
    const notBytes = { byteLength: 2 } as unknown as Uint8Array;
    expect(decodePayload('TelemetryBatch', notBytes)).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'payload must be bytes or a string',
    });
  });

  it('refuses an unknown payload kind', () => {
    expect(decodePayload('Nope' as PayloadKind, '{}')).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'unknown payload kind "Nope"',
    });
  });

  it('refuses a non-finite number', () => {
    expect(failure(decodePayload('TelemetryBatch', batch([{ ts: NOW, metrics: { temp: 0 } }]).replace('0}', '1e400}'), { now: NOW }))).toMatchObject({
      code: 'PAYLOAD_INVALID',
      path: 'samples[0].metrics.temp',
      reason: 'samples[0].metrics.temp: must be a number, a boolean or a string, got Infinity',
    });
    expect(failure(decodePayload('OtaProgress', '{"v":1,"jobId":"j","state":"queued","percent":-1e999,"at":1}')).reason).toBe(
      'percent: must be a finite number, got -Infinity',
    );
  });

  it('explains a payload that is not an object at the root', () => {
    expect(decodePayload('Rule', '[]')).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'payload: must be an object, got an array',
    });
  });

  it('never throws, whatever the input', () => {
    const inputs = ['null', '1', '"x"', 'true', '[]', '{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{}}}'];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const bytes = Array.from({ length: 50 }, () => Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    for (const kind of PAYLOAD_KINDS) {
      for (const input of [...inputs, ...bytes]) {
        const result = decodePayload(kind, input);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
      }
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('turns an unexpected failure inside a check into a refusal', () => {
    const hostile: ProtocolLimits = {
      ...DEFAULT_LIMITS,
      namePattern: {
        test: () => {
          throw new Error('boom');
        },
      } as unknown as RegExp,
    };
    expect(decodePayload('TelemetryBatch', JSON.stringify(VALID.TelemetryBatch.minimal), { limits: hostile, now: NOW })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'payload could not be checked: boom',
    });
    expect(validatePayload('TelemetryBatch', VALID.TelemetryBatch.minimal, { limits: hostile, now: NOW })).toMatchObject({
      ok: false,
      reason: 'payload could not be checked: boom',
    });
  });

  it('uses the current time when no clock is given', () => {
    const fresh = { v: 1, seq: 1, samples: [{ ts: Date.now(), metrics: { temp: 1 } }] };
    expect(decodePayload('TelemetryBatch', JSON.stringify(fresh)).ok).toBe(true);
  });
});

describe('validatePayload', () => {
  it('checks an already-parsed value like decodePayload does', () => {
    expect(validatePayload('Rule', VALID.Rule.full)).toEqual({ ok: true, value: VALID.Rule.full });
    expect(validatePayload('Rule', { ...VALID.Rule.full, v: 2 })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'v: must be 1, got 2',
      path: 'v',
    });
  });
});

describe('encodePayload', () => {
  it.each(PAYLOAD_KINDS)('encodes a %s that decodes to the same value', (kind) => {
    const value = VALID[kind].full;
    const text = encodePayload(kind, value);
    expect(JSON.parse(text)).toEqual(value);
    expect(decodePayload(kind, text, { now: NOW })).toEqual({ ok: true, value });
  });
});
