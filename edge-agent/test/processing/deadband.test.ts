import { describe, it } from 'vitest';
import { deadband } from '../../src/processing/index.js';
import { createTestScheduler, sample } from './marbles.js';

describe('deadband', () => {
  it('sends a banded metric only when it moved by at least the band since the last one sent', () => {
    createTestScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|', {
        a: sample(0, { temp: 20, other: 1 }),
        b: sample(1, { temp: 20.4, other: 1 }),
        c: sample(2, { temp: 20.6 }),
        d: sample(3, { temp: 20.2 }),
        e: sample(4, { temp: 19.5 }),
        f: sample(5, { temp: 'sensor-fault' }),
      });
      expectObservable(source.pipe(deadband({ temp: 0.5, unseen: 3 }))).toBe('abc-ef|', {
        a: sample(0, { temp: 20, other: 1 }),
        b: sample(1, { other: 1 }),
        c: sample(2, { temp: 20.6 }),
        e: sample(4, { temp: 19.5 }),
        f: sample(5, { temp: 'sensor-fault' }),
      });
    });
  });

  it('sends a non-numeric banded metric when it changes', () => {
    createTestScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: sample(0, { door: true }), b: sample(1, { door: true }), c: sample(2, { door: false }) });
      expectObservable(source.pipe(deadband({ door: 0 }))).toBe('a-c|', { a: sample(0, { door: true }), c: sample(2, { door: false }) });
    });
  });
});
