import { describe, expect, it } from 'vitest';
import type { RuleCondition } from '@outpost/protocol';
import { clearBound, clearHolds, compileCondition } from '../../src/domain/hysteresis.js';

describe('clearHolds', () => {
  it.each<[RuleCondition, number | undefined, number, boolean]>([
    // condition, clearThreshold, value, clears (threshold 30)
    ['>', undefined, 30.1, false],
    ['>', undefined, 30, true],
    ['>', 25, 27, false],
    ['>', 25, 25, true],
    ['>', 25, 24, true],
    ['>=', undefined, 30, false],
    ['>=', undefined, 29.9, true],
    ['>=', 25, 25, false],
    ['>=', 25, 24.9, true],
    ['<', undefined, 30, true],
    ['<', 35, 32, false],
    ['<', 35, 35, true],
    ['<=', undefined, 30, false],
    ['<=', 35, 35, false],
    ['<=', 35, 35.1, true],
    ['==', 25, 29, true],
    ['==', 25, 30, false],
    ['!=', undefined, 30, true],
    ['!=', undefined, 31, false],
  ])('%s 30 (clear %s) on %d clears: %s', (condition, clearThreshold, value, expected) => {
    expect(clearHolds({ condition, bound: 30, clearThreshold }, value)).toBe(expected);
  });

  it('clears a range condition when it no longer holds', () => {
    expect(clearHolds({ condition: 'outside', range: [10, 20] }, 15)).toBe(true);
    expect(clearHolds({ condition: 'outside', range: [10, 20] }, 21)).toBe(false);
    expect(clearHolds({ condition: 'inside', range: [10, 20] }, 21)).toBe(true);
    expect(clearHolds({ condition: 'inside', range: [10, 20] }, 10)).toBe(false);
  });

  it('clears a string equality when the text differs', () => {
    expect(clearHolds({ condition: '==', bound: 1 }, 'on')).toBe(true);
    expect(clearHolds({ condition: '==', bound: 1 }, '1')).toBe(false);
  });

  it('never clears what has no bound', () => {
    expect(clearHolds({ condition: '>' }, 0)).toBe(false);
    expect(clearHolds({ condition: 'inside' }, 0)).toBe(false);
  });
});

describe('clearBound', () => {
  it('defaults to the threshold', () => {
    expect(clearBound('>', 30, undefined)).toBe(30);
  });

  it('clamps a clear threshold on the wrong side to the threshold', () => {
    expect(clearBound('>', 30, 35)).toBe(30);
    expect(clearBound('<', 30, 25)).toBe(30);
    expect(clearBound('>=', 30, 20)).toBe(20);
    expect(clearBound('<=', 30, 40)).toBe(40);
  });
});

describe('compileCondition', () => {
  it('never both holds and clears on one value, so it cannot flap within one sample', () => {
    const conditions: RuleCondition[] = ['>', '>=', '<', '<=', '==', '!='];
    for (const condition of conditions) {
      for (const clearThreshold of [undefined, 20, 40]) {
        const compiled = compileCondition({ condition, bound: 30, clearThreshold });
        for (const value of [10, 20, 25, 29.9, 30, 30.1, 35, 40, 50]) {
          expect(compiled.holds(value) && compiled.clears(value), `${condition} clear ${clearThreshold} at ${value}`).toBe(false);
        }
      }
    }
  });
});
