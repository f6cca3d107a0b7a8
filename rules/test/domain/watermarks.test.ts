import { describe, expect, it } from 'vitest';
import { createWatermarks, isLate } from '../../src/domain/watermarks.js';

describe('watermarks', () => {
  it('keeps the newest sample time per device', () => {
    const watermarks = createWatermarks();
    watermarks.observe('a', 10);
    watermarks.observe('a', 5);
    watermarks.observe('b', 7);
    expect(watermarks.highest('a')).toBe(10);
    expect(watermarks.highest('b')).toBe(7);
    expect(watermarks.highest('c')).toBeUndefined();
  });

  it.each([
    ['on time', 100, { watermark: 100, arrivedAt: 100 }, false],
    ['exactly at the bound', 50, { watermark: 100, arrivedAt: 60 }, false],
    ['behind its device watermark', 49, { watermark: 100, arrivedAt: 60 }, true],
    ['arrived long after it was taken', 49, { arrivedAt: 100 }, true],
    ['no watermark yet, arrived at once', 49, { arrivedAt: 49 }, false],
  ])('isLate: %s', (_name, ts, reference, expected) => {
    expect(isLate(ts, reference, 50)).toBe(expected);
  });
});
