import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, NAME_RE, OutpostError, RESERVED_NAMES, resolveLimits, toWireLimits, validatePayload } from '../src/index.js';
import type { ProtocolLimits } from '../src/index.js';

describe('DEFAULT_LIMITS', () => {
  it('holds the defaults of SPEC', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxPayloadBytes: 262_144,
      maxSamples: 1000,
      maxMetrics: 100,
      msgsPerS: 100,
      bytesPerS: 1_048_576,
      tsMaxPastMs: 30 * 86_400_000,
      tsMaxFutureMs: 5 * 60_000,
      maxStringMetricLength: 256,
      maxTagValueLength: 128,
    });
    expect(DEFAULT_LIMITS.reservedNames).toEqual(['time', 'device']);
    expect(RESERVED_NAMES).toBe(DEFAULT_LIMITS.reservedNames);
    expect(NAME_RE.source).toBe('^[A-Za-z_][A-Za-z0-9_.-]{0,63}$');
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it.each(['temp', '_x', 'cpu.temp', 'a-b_c.d', 'A'.repeat(64)])('lets %s be a name', (name) => {
    expect(NAME_RE.test(name)).toBe(true);
  });

  it.each(['', '9x', '.a', '-a', 'a b', 'a/b', 'é', 'A'.repeat(65)])('refuses %j as a name', (name) => {
    expect(NAME_RE.test(name)).toBe(false);
  });
});

describe('resolveLimits', () => {
  it('overlays a configuration on the defaults and freezes it', () => {
    const limits = resolveLimits({ maxSamples: 50, reservedNames: ['time', 'device', 'host'] });
    expect(limits.maxSamples).toBe(50);
    expect(limits.maxMetrics).toBe(100);
    expect(limits.reservedNames).toEqual(['time', 'device', 'host']);
    expect(Object.isFrozen(limits)).toBe(true);
    expect(Object.isFrozen(limits.reservedNames)).toBe(true);
  });

  it('ignores keys set to undefined', () => {
    expect(resolveLimits({ maxSamples: undefined }).maxSamples).toBe(1000);
  });

  it('drops the stateful flags of a name pattern', () => {
    const limits = resolveLimits({ namePattern: /^[a-z]+$/gi });
    expect(limits.namePattern.flags).toBe('i');
    expect([limits.namePattern.test('abc'), limits.namePattern.test('abc')]).toEqual([true, true]);
  });

  it('lists every invalid value in one error', () => {
    const overrides = { maxSamples: 0, maxMetrics: 1.5, msgsPerS: -1, namePattern: 'x', reservedNames: [''] } as unknown as Partial<ProtocolLimits>;
    let thrown: unknown;
    try {
      resolveLimits(overrides);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OutpostError);
    expect(thrown).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [
        'maxSamples: must be a whole number of at least 1, got 0',
        'maxMetrics: must be a whole number of at least 1, got 1.5',
        'msgsPerS: must be a whole number of at least 1, got -1',
        'namePattern: must be a RegExp',
        'reservedNames: must be a list of non-empty strings',
      ],
    });
  });
});

describe('toWireLimits', () => {
  it('gives the Limits payload of a configuration', () => {
    const wire = toWireLimits(resolveLimits({ maxSamples: 10 }));
    expect(wire).toEqual({ maxPayloadBytes: 262_144, maxSamples: 10, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 });
    expect(validatePayload('Limits', wire).ok).toBe(true);
  });
});
