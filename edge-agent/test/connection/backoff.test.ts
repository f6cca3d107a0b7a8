import { describe, expect, it } from 'vitest';
import { backoffCeiling, createBackoff } from '../../src/connection/backoff.js';
import { createPacer } from '../../src/connection/pacer.js';

describe('reconnect backoff', () => {
  it('doubles its ceiling from minMs up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 40, 1000].map((n) => backoffCeiling(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('waits a jittered time within [minMs, ceiling] and starts again after a success', () => {
    const highest = createBackoff({ minMs: 10, maxMs: 70, random: () => 0.999999 });
    expect([highest.next(), highest.next(), highest.next(), highest.next(), highest.next()]).toEqual([10, 20, 40, 70, 70]);
    highest.reset();
    expect(highest.next()).toBe(10);
    const lowest = createBackoff({ minMs: 10, maxMs: 70, random: () => 0 });
    expect([lowest.next(), lowest.next(), lowest.next()]).toEqual([10, 10, 10]);
    const half = createBackoff({ minMs: 10, maxMs: 70, random: () => 0.5 });
    expect([half.next(), half.next(), half.next()]).toEqual([10, 15, 25]);
  });

  it('stays within its bounds whatever the randomness', () => {
    const b = createBackoff({ minMs: 5, maxMs: 50 });
    for (let i = 0; i < 200; i += 1) {
      const wait = b.next();
      expect(wait).toBeGreaterThanOrEqual(5);
      expect(wait).toBeLessThanOrEqual(50);
    }
  });

  it('refuses bounds that make no sense', () => {
    expect(() => createBackoff({ minMs: 0, maxMs: 10 })).toThrow(/minMs/);
    expect(() => createBackoff({ minMs: 100, maxMs: 10 })).toThrow(/minMs ≤ maxMs/);
  });
});

describe('publish pacing', () => {
  it('lets a second’s budget through, then asks to wait for the next token', () => {
    let t = 0;
    const pacer = createPacer(2, 1_000, () => t);
    expect(pacer.take(100)).toBe(0);
    expect(pacer.take(100)).toBe(0);
    expect(pacer.take(100)).toBe(500);
    t = 500;
    expect(pacer.take(100)).toBe(0);
  });

  it('paces by bytes too, and never blocks a message larger than a second’s bytes forever', () => {
    let t = 0;
    const pacer = createPacer(100, 1_000, () => t);
    expect(pacer.take(800)).toBe(0);
    expect(pacer.take(800)).toBe(600);
    t = 1_000;
    expect(pacer.take(5_000)).toBe(0);
  });
});
