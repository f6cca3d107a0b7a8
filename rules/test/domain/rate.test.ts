import { describe, expect, it } from 'vitest';
import { ratePerSecondOf } from '../../src/domain/rate.js';

describe('ratePerSecondOf', () => {
  it.each([
    [{ ts: 0, value: 10 }, { ts: 2000, value: 14 }, 2],
    [{ ts: 0, value: 10 }, { ts: 500, value: 9 }, -2],
    [{ ts: 0, value: 10 }, { ts: 1000, value: 10 }, 0],
  ])('%j → %j is %d/s', (from, to, expected) => {
    expect(ratePerSecondOf(from.ts, from.value, to.ts, to.value)).toBe(expected);
  });

  it('is undefined when no time passed or time went backwards', () => {
    expect(ratePerSecondOf(5, 1, 5, 2)).toBeUndefined();
    expect(ratePerSecondOf(5, 1, 4, 2)).toBeUndefined();
  });
});
