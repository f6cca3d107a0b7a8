/**
 * Rule conditions: `>`, `>=`, `<`, `<=`, `==`, `!=` against a bound, `outside`/`inside` a
 * closed range. Values are normalised to operands first; a value a condition cannot compare
 * is ignored (never an error): a boolean counts as 1/0 and a string as text, both for
 * `==`/`!=` only.
 */
import type { RuleCondition } from '@outpost/protocol';
import type { SampleValue } from '../rule-sample.js';

/** What a condition compares: a number, or a string for `==`/`!=`. */
export type Operand = number | string;

/** The comparison part of a rule: the bound is `threshold` (threshold rules) or `ratePerS` (rate rules). */
export interface ConditionSpec {
  readonly condition: RuleCondition;
  readonly bound?: number | undefined;
  readonly range?: readonly [number, number] | undefined;
}

export function isEquality(condition: RuleCondition): boolean {
  return condition === '==' || condition === '!=';
}

/** The operand a sample value gives under a condition, or undefined when it cannot be compared. */
export function toOperand(value: SampleValue, condition: RuleCondition): Operand | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (!isEquality(condition)) return undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** `a <op> b` for the comparison conditions; false for the range conditions. */
export function compare(condition: RuleCondition, a: number, b: number): boolean {
  switch (condition) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default:
      return false;
  }
}

/**
 * Whether the fire condition holds. A string equals the bound when it is the bound's decimal
 * text (`"3"` equals 3, `"3.0"` does not). A missing bound or range never holds.
 */
export function conditionHolds(spec: ConditionSpec, operand: Operand): boolean {
  const { condition, bound, range } = spec;
  if (condition === 'outside' || condition === 'inside') {
    if (range === undefined || typeof operand !== 'number') return false;
    const within = operand >= range[0] && operand <= range[1];
    return condition === 'inside' ? within : !within;
  }
  if (bound === undefined) return false;
  if (typeof operand === 'string') {
    if (!isEquality(condition)) return false;
    return (operand === String(bound)) === (condition === '==');
  }
  return compare(condition, operand, bound);
}
