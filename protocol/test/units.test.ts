import { describe, expect, it } from 'vitest';
import { parseByteSize, parseDuration } from '../src/units.js';

describe('parseDuration', () => {
  it.each([
    ['1s', 1_000],
    ['250ms', 250],
    ['5m', 300_000],
    ['12h', 43_200_000],
    ['90d', 7_776_000_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['1500', 1_500],
    [42, 42],
  ])('reads %s as %d ms', (input, expected) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: expected });
  });

  it.each(['', '5 minutes', '-1s', '1y', 's', '1s2', -5, Number.NaN, null, {}])('refuses %s with a reason', (input) => {
    const result = parseDuration(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/duration/);
  });
});

describe('parseByteSize', () => {
  it.each([
    ['1 GiB', 1_073_741_824],
    ['256KiB', 262_144],
    ['1MiB', 1_048_576],
    ['64kB', 64_000],
    ['100', 100],
    [4096, 4096],
  ])('reads %s as %d bytes', (input, expected) => {
    expect(parseByteSize(input)).toEqual({ ok: true, value: expected });
  });

  it.each(['', 'lots', '-1', '1 PiB', 1.5, -3, true])('refuses %s with a reason', (input) => {
    const result = parseByteSize(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/size/);
  });
});
