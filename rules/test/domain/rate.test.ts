import { describe, expect, it } from 'vitest';
import { ratePerSecond } from '../../src/domain/rate.js';

describe('ratePerSecond', () => {
  it.each([
    [{ ts: 0, value: 10 }, { ts: 2000, value: 14 }, 2],
    [{ ts: 0, value: 10 }, { ts: 500, value: 9 }, -2],
    [{ ts: 0, value: 10 }, { ts: 1000, value: 10 }, 0],
  ])('%j → %j is %d/s', (from, to, expected) => {
    expect(ratePerSecond(from, to)).toBe(expected);
  });

  it('is undefined when no time passed or time went backwards', () => {
    expect(ratePerSecond({ ts: 5, value: 1 }, { ts: 5, value: 2 })).toBeUndefined();
    expect(ratePerSecond({ ts: 5, value: 1 }, { ts: 4, value: 2 })).toBeUndefined();
  });
});
