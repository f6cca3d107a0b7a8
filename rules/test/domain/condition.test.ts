import { describe, expect, it } from 'vitest';
import type { RuleCondition } from '@outpost/protocol';
import { conditionHolds, toOperand } from '../../src/domain/condition.js';
import type { SampleValue } from '../../src/rule-sample.js';

describe('conditionHolds', () => {
  it.each<[RuleCondition, number, boolean]>([
    ['>', 29.9, false],
    ['>', 30, false],
    ['>', 30.1, true],
    ['>=', 29.9, false],
    ['>=', 30, true],
    ['<', 30, false],
    ['<', 29.9, true],
    ['<=', 30, true],
    ['<=', 30.1, false],
    ['==', 30, true],
    ['==', 30.1, false],
    ['!=', 30, false],
    ['!=', 29, true],
  ])('%s 30 on %d is %s', (condition, value, expected) => {
    expect(conditionHolds({ condition, bound: 30 }, value)).toBe(expected);
  });

  it.each<[RuleCondition, number, boolean]>([
    ['outside', 9.9, true],
    ['outside', 10, false],
    ['outside', 20, false],
    ['outside', 20.1, true],
    ['inside', 9.9, false],
    ['inside', 10, true],
    ['inside', 15, true],
    ['inside', 20, true],
    ['inside', 20.1, false],
  ])('%s [10, 20] on %d is %s (the range is closed)', (condition, value, expected) => {
    expect(conditionHolds({ condition, range: [10, 20] }, value)).toBe(expected);
  });

  it('compares a string with the bound as decimal text, for == and != only', () => {
    expect(conditionHolds({ condition: '==', bound: 3 }, '3')).toBe(true);
    expect(conditionHolds({ condition: '==', bound: 3 }, '3.0')).toBe(false);
    expect(conditionHolds({ condition: '!=', bound: 3 }, 'open')).toBe(true);
    expect(conditionHolds({ condition: '!=', bound: 3 }, '3')).toBe(false);
    expect(conditionHolds({ condition: '>', bound: 3 }, '4')).toBe(false);
    expect(conditionHolds({ condition: 'inside', range: [0, 9] }, '4')).toBe(false);
  });

  it('never holds without its bound or range', () => {
    expect(conditionHolds({ condition: '>' }, 100)).toBe(false);
    expect(conditionHolds({ condition: '!=' }, 100)).toBe(false);
    expect(conditionHolds({ condition: 'outside' }, 100)).toBe(false);
  });
});

describe('toOperand', () => {
  it.each<[SampleValue, RuleCondition, number | string | undefined]>([
    [21.5, '>', 21.5],
    [0, '<=', 0],
    [Number.NaN, '>', undefined],
    [Number.POSITIVE_INFINITY, '==', undefined],
    [true, '==', 1],
    [false, '!=', 0],
    [true, '>', undefined],
    [true, 'inside', undefined],
    ['open', '==', 'open'],
    ['open', '!=', 'open'],
    ['5', '>', undefined],
    ['5', 'outside', undefined],
  ])('%j under %s → %j', (value, condition, expected) => {
    expect(toOperand(value, condition)).toBe(expected);
  });
});
