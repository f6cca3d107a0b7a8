import { describe, it } from 'vitest';
import type { TelemetrySample } from '@outpost/protocol';
import { map } from 'rxjs';
import { tumblingWindow } from '../../src/processing/index.js';
import { createTestScheduler, sample } from './marbles.js';

describe('tumbling windows', () => {
  it.each([
    ['mean', 12],
    ['min', 10],
    ['max', 14],
    ['last', 12],
  ] as const)('emits the %s of each window at its end, stamped with its start', (fn, expected) => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // Samples at frames 1, 3, 5 (window [0,10)), none after: the window closes on time at 10.
      const values: Record<string, number> = { a: 10, b: 14, c: 12 };
      const source = hot('-a-b-c', values).pipe(map((value): TelemetrySample => sample(scheduler.now(), { temp: value, state: 'on' })));
      expectObservable(source.pipe(tumblingWindow(10, fn, scheduler))).toBe('----------x', {
        x: sample(0, { temp: expected, state: 'on' }),
      });
    });
  });

  it('closes a window early when a sample of the next one arrives, and flushes the open one on completion', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('ab|', { a: sample(3, { n: 1 }), b: sample(25, { n: 2, flag: true }) });
      expectObservable(source.pipe(tumblingWindow(10, 'mean', scheduler))).toBe('-x(y|)', {
        x: sample(0, { n: 1 }),
        y: sample(20, { n: 2, flag: 1 }),
      });
    });
  });

  it('aligns windows on the epoch, so devices agree on window boundaries', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('(a|)', { a: sample(1_700_000_123_456, { n: 5 }) });
      expectObservable(source.pipe(tumblingWindow(60_000, 'max', scheduler))).toBe('(x|)', { x: sample(1_700_000_100_000, { n: 5 }) });
    });
  });
});
