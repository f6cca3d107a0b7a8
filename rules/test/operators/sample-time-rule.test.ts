import { describe, it } from 'vitest';
import { rawSignal } from '../../src/domain/signal.js';
import { createWatermarks } from '../../src/domain/watermarks.js';
import { sampleTimeRule } from '../../src/operators/sample-time-rule.js';
import type { RuleOptions } from '../../src/rule-options.js';
import { createTestScheduler, fired, makeRule, makeSample, resolved } from '../helpers/marbles.js';

const spec = { bound: 30, signal: rawSignal };

function expectRun(marbles: string, values: Record<string, ReturnType<typeof makeSample>>, expected: string, transitions: Record<string, ReturnType<typeof fired>>, options: RuleOptions = { latenessMs: 100 }): void {
  const scheduler = createTestScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    expectObservable(cold(marbles, values).pipe(sampleTimeRule(makeRule(), options, spec))).toBe(expected, transitions);
  });
}

describe('sampleTimeRule', () => {
  it('evaluates each device on its own', () => {
    const d2 = { deviceId: 'd2' };
    expectRun(
      'abcdef|',
      {
        a: makeSample(0, 31),
        b: makeSample(1, 20, d2),
        c: makeSample(2, 20),
        d: makeSample(3, 31, d2),
        e: makeSample(4, 32),
        f: makeSample(5, 20, d2),
      },
      'f-rghi|',
      {
        f: fired(31, 0),
        r: resolved(20, 2),
        g: fired(31, 3, d2),
        h: fired(32, 4),
        i: resolved(20, 5, d2),
      },
    );
  });

  it('does not let an older sample arriving after a newer one resolve or re-fire', () => {
    expectRun(
      'abcdef|',
      {
        a: makeSample(100, 31),
        b: makeSample(50, 20, { arrivedAt: 101 }),
        c: makeSample(200, 20),
        d: makeSample(150, 40, { arrivedAt: 201 }),
        e: makeSample(200, 40, { arrivedAt: 202 }),
        f: makeSample(300, 40),
      },
      'f-r--g|',
      {
        f: fired(31, 100, { at: 0 }),
        r: resolved(20, 200, { at: 2 }),
        g: fired(40, 300, { at: 5 }),
      },
    );
  });

  it('marks a transition decided behind the device watermark as late', () => {
    expectRun(
      'abc|',
      {
        a: makeSample(1000, 55, { metric: 'humidity' }),
        b: makeSample(850, 31, { arrivedAt: 1000 }),
        c: makeSample(950, 20, { arrivedAt: 1000 }),
      },
      '-fr|',
      {
        f: fired(31, 850, { arrivedAt: 1000, at: 1, late: true }),
        r: resolved(20, 950, { arrivedAt: 1000, at: 2 }),
      },
    );
  });

  it('reads the watermark from a shared store the engine feeds', () => {
    const watermarks = createWatermarks();
    watermarks.observe('d1', 5000);
    expectRun('a|', { a: makeSample(1000, 31) }, 'f|', { f: fired(31, 1000, { at: 0, late: true }) }, { latenessMs: 100, watermarks });
  });

  it('stamps `at` from options.now when given', () => {
    expectRun('a|', { a: makeSample(0, 31) }, 'f|', { f: fired(31, 0, { at: 42 }) }, { latenessMs: 100, now: () => 42 });
  });

  it('lets nothing late through when latenessMs is Infinity', () => {
    expectRun('a|', { a: makeSample(0, 31, { arrivedAt: 1e12 }) }, 'f|', { f: fired(31, 0, { arrivedAt: 1e12 }) }, { latenessMs: Number.POSITIVE_INFINITY });
  });

  it('passes a source error on', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const samples$ = cold('a#', { a: makeSample(0, 31) }, new Error('spool closed'));
      expectObservable(samples$.pipe(sampleTimeRule(makeRule(), { latenessMs: 0 }, spec))).toBe('f#', { f: fired(31, 0) }, new Error('spool closed'));
    });
  });

  it('ignores samples of other metrics', () => {
    expectRun('a|', { a: makeSample(0, 99, { metric: 'humidity' }) }, '-|', {});
  });
});
