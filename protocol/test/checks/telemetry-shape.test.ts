/**
 * The one-pass TelemetryBatch shape check against the compiled schema it stands in for: it may
 * accept only what the schema accepts (checked on thousands of broken batches), it must accept
 * the batches agents send (or the hot path never takes it), and decodePayload refuses exactly
 * as validatePayload does.
 */
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { isTelemetryBatchJson } from '../../src/checks/telemetry-shape.js';
import { TelemetryBatch } from '../../src/schemas/telemetry.js';
import { decodePayload, validatePayload } from '../../src/index.js';

const schema = Compile(TelemetryBatch);
const NOW = 1_800_000_000_000;

/** A deterministic pseudo-random source (the same cases every run). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function validBatch(next: () => number): Record<string, unknown> {
  const samples = Array.from({ length: 1 + Math.floor(next() * 5) }, (_, i) => {
    const sample: Record<string, unknown> = { ts: NOW - 1_000 * i, metrics: { temp: 20.5 + i, on: i % 2 === 0, mode: 'auto' } };
    if (next() < 0.4) sample['tags'] = { sensor: `s${String(i)}`, room: 'kitchen 1' };
    return sample;
  });
  return { v: 1, seq: Math.floor(next() * 1_000), samples };
}

/** Odd values a field may be given. */
const ODD: readonly unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '', 'x', '\u0001', [], [1], {}, { a: 1 }, { a: null }, { a: [] }, { a: {} }, 8_640_000_000_000_001];

/** One random change somewhere in the batch: a field set to an odd value, removed, or added. */
function mutate(batch: Record<string, unknown>, next: () => number): void {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
  const targets: Record<string, unknown>[] = [batch];
  const samples = batch['samples'];
  const sample: unknown = Array.isArray(samples) ? pick(samples) : undefined;
  if (isObject(sample)) {
    targets.push(sample);
    if (isObject(sample['metrics'])) targets.push(sample['metrics']);
    if (isObject(sample['tags'])) targets.push(sample['tags']);
  }
  const target = pick(targets);
  const key = pick([...Object.keys(target), 'extra', '__proto__', 'tags', 'ts', 'metrics', 'v', 'seq', 'samples']);
  const how = next();
  if (how < 0.6) Object.defineProperty(target, key, { value: pick(ODD), enumerable: true, configurable: true, writable: true });
  else if (how < 0.85) Reflect.deleteProperty(target, key);
  else if (how < 0.93) batch['samples'] = [];
  else Object.defineProperty(target, key, { value: { ...target }, enumerable: true, configurable: true, writable: true });
}

describe('the one-pass TelemetryBatch shape check', () => {
  it('accepts the batches agents send (so the hot path takes it)', () => {
    const next = random(7);
    for (let i = 0; i < 500; i += 1) {
      const value: unknown = JSON.parse(JSON.stringify(validBatch(next)));
      expect(schema.Check(value)).toBe(true);
      expect(isTelemetryBatchJson(value)).toBe(true);
    }
  });

  it('accepts nothing the compiled schema refuses, over 20,000 broken batches', () => {
    const next = random(42);
    let refusedBySchema = 0;
    let acceptedByBoth = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const batch = validBatch(next);
      for (let k = 1 + Math.floor(next() * 3); k > 0; k -= 1) mutate(batch, next);
      const value: unknown = JSON.parse(JSON.stringify(batch));
      const bySchema = schema.Check(value);
      const byShape = isTelemetryBatchJson(value);
      if (byShape) expect(bySchema, JSON.stringify(value)).toBe(true);
      if (!bySchema) refusedBySchema += 1;
      if (byShape && bySchema) acceptedByBoth += 1;
    }
    // The cases are not all trivial: many are refused, and some changes keep a batch valid.
    expect(refusedBySchema).toBeGreaterThan(10_000);
    expect(acceptedByBoth).toBeGreaterThan(100);
  });

  it('gives decodePayload the same answers and refusals as validatePayload', () => {
    const next = random(3);
    for (let i = 0; i < 2_000; i += 1) {
      const batch = validBatch(next);
      if (i % 4 !== 0) mutate(batch, next);
      const text = JSON.stringify(batch);
      const options = { now: NOW };
      expect(decodePayload('TelemetryBatch', text, options)).toEqual(validatePayload('TelemetryBatch', JSON.parse(text), options));
    }
    // Numbers JSON.parse turns into ±Infinity, and a __proto__ key (an own property after JSON.parse).
    for (const text of [
      `{"v":1,"seq":1,"samples":[{"ts":${String(NOW)},"metrics":{"temp":1e400}}]}`,
      `{"v":1,"seq":1,"samples":[{"ts":${String(NOW)},"metrics":{"temp":-1e400}}]}`,
      `{"v":1,"seq":1e400,"samples":[{"ts":${String(NOW)},"metrics":{"temp":1}}]}`,
      `{"v":1,"seq":1,"samples":[{"ts":${String(NOW)},"metrics":{"temp":1},"__proto__":{"x":1}}]}`,
      `{"v":1,"seq":1,"samples":[{"ts":${String(NOW)},"metrics":{"__proto__":1}}]}`,
    ]) {
      const decoded = decodePayload('TelemetryBatch', text, { now: NOW });
      expect(decoded, text).toEqual(validatePayload('TelemetryBatch', JSON.parse(text), { now: NOW }));
      if (text.includes('1e400')) expect(decoded.ok, text).toBe(false);
    }
  });
});
