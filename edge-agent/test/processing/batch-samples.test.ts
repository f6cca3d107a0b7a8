import { describe, expect, it } from 'vitest';
import { decodePayload, resolveLimits } from '@outpost/protocol';
import type { TelemetrySample } from '@outpost/protocol';
import { from, lastValueFrom, toArray } from 'rxjs';
import { batchSamples } from '../../src/processing/index.js';
import type { BatchLimits } from '../../src/processing/index.js';
import { seededRandom } from '../../src/collectors/index.js';
import { createTestScheduler, sample } from './marbles.js';

const roomy: BatchLimits = { maxSamples: 3, maxAgeMs: 5, maxMetrics: 100, maxPayloadBytes: 262_144 };

describe('batching', () => {
  it('sends a batch when it is full or when its first sample is maxAgeMs old', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('abc-d-------e|', {
        a: sample(1, { n: 1 }),
        b: sample(2, { n: 2 }),
        c: sample(3, { n: 3 }),
        d: sample(4, { n: 4 }),
        e: sample(5, { n: 5 }),
      });
      expectObservable(source.pipe(batchSamples(roomy, scheduler))).toBe('--x------y---(z|)', {
        x: [sample(1, { n: 1 }), sample(2, { n: 2 }), sample(3, { n: 3 })],
        y: [sample(4, { n: 4 })],
        z: [sample(5, { n: 5 })],
      });
    });
  });

  it('splits a sample with more metrics than maxMetrics into samples of the same ts', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('(a|)', { a: sample(7, { a: 1, b: 2, c: 3, d: 4, e: 5 }) });
      expectObservable(source.pipe(batchSamples({ ...roomy, maxSamples: 10, maxMetrics: 2 }, scheduler))).toBe('(x|)', {
        x: [sample(7, { a: 1, b: 2 }), sample(7, { c: 3, d: 4 }), sample(7, { e: 5 })],
      });
    });
  });

  it('starts a new batch when a metric changes type (the broker refuses TYPE_CONFLICT)', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: sample(1, { s: 1 }), b: sample(2, { s: 'on', t: 1 }), c: sample(3, { t: 2 }) });
      expectObservable(source.pipe(batchSamples({ ...roomy, maxSamples: 10 }, scheduler))).toBe('-x-(y|)', {
        x: [sample(1, { s: 1 })],
        y: [sample(2, { s: 'on', t: 1 }), sample(3, { t: 2 })],
      });
    });
  });

  it('drops and reports a single metric that can never fit a payload', () => {
    const scheduler = createTestScheduler();
    const problems: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('(a|)', { a: sample(1, { big: 'x'.repeat(200), small: 1 }) });
      expectObservable(source.pipe(batchSamples({ ...roomy, maxPayloadBytes: 150 }, scheduler, (p) => problems.push(p)))).toBe('(x|)', {
        x: [sample(1, { small: 1 })],
      });
    });
    expect(problems).toEqual([expect.stringContaining('metric big does not fit')]);
  });

  it('never builds a batch the broker would refuse, whatever the samples', async () => {
    const random = seededRandom(7);
    const limits = resolveLimits({ maxPayloadBytes: 4096, maxSamples: 20, maxMetrics: 8 });
    const samples: TelemetrySample[] = Array.from({ length: 500 }, (_, i) => {
      const count = 1 + Math.floor(random() * 30);
      const metrics: Record<string, number | string | boolean> = {};
      for (let m = 0; m < count; m += 1) {
        const kind = random();
        metrics[`m${Math.floor(random() * 40)}`] = kind < 0.6 ? random() * 1e6 : kind < 0.8 ? 'v'.repeat(Math.floor(random() * 256)) : random() < 0.5;
      }
      return { ts: Date.now() - (500 - i) * 1000, metrics };
    });
    const batches = await lastValueFrom(
      from(samples).pipe(
        batchSamples({ maxSamples: limits.maxSamples, maxAgeMs: 1000, maxMetrics: limits.maxMetrics, maxPayloadBytes: limits.maxPayloadBytes }, createTestScheduler()),
        toArray(),
      ),
    );
    let metricsOut = 0;
    for (const batch of batches) {
      const payload = JSON.stringify({ v: 1, seq: Number.MAX_SAFE_INTEGER, samples: batch });
      const decoded = decodePayload('TelemetryBatch', payload, { limits });
      expect(decoded.ok ? 'ok' : decoded.reason).toBe('ok');
      for (const part of batch) metricsOut += Object.keys(part.metrics).length;
    }
    // Nothing lost on the way: every metric of every sample is in some batch.
    expect(metricsOut).toBe(samples.reduce((sum, s) => sum + Object.keys(s.metrics).length, 0));
  });
});
