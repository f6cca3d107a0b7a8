/**
 * Hysteresis: a firing alert resolves only when its value crosses `clearThreshold` in the
 * clearing direction, so a value wobbling around the threshold cannot flap. For `>` the alert
 * clears at value ≤ clear, for `>=` at value < clear, for `<` at value ≥ clear, for `<=` at
 * value > clear (the fire comparison, negated, against the clear bound). Without a clear
 * threshold the clear bound is the threshold itself (clear = the condition no longer holds).
 * Equality and range conditions have no band: they clear when the condition no longer holds.
 */
import type { RuleCondition } from '@outpost/protocol';
import { compare, conditionHolds } from './condition.js';
import type { ConditionSpec, Operand } from './condition.js';

export interface HysteresisSpec extends ConditionSpec {
  readonly clearThreshold?: number | undefined;
}

/** A compiled condition: when to fire, and when a firing alert may resolve. */
export interface CompiledCondition {
  readonly condition: RuleCondition;
  holds(operand: Operand): boolean;
  clears(operand: Operand): boolean;
}

/**
 * The bound a firing comparison must cross back over. A clear threshold on the wrong side of
 * the bound (above it for `>`) is clamped to the bound, so that clearing always implies that
 * the fire condition no longer holds and an alert can never resolve and re-fire on one value.
 */
export function clearBound(condition: RuleCondition, bound: number | undefined, clearThreshold: number | undefined): number | undefined {
  if (bound === undefined) return undefined;
  if (clearThreshold === undefined) return bound;
  switch (condition) {
    case '>':
    case '>=':
      return Math.min(clearThreshold, bound);
    case '<':
    case '<=':
      return Math.max(clearThreshold, bound);
    default:
      return bound;
  }
}

export function clearHolds(spec: HysteresisSpec, operand: Operand): boolean {
  const { condition } = spec;
  if (condition === '>' || condition === '>=' || condition === '<' || condition === '<=') {
    const bound = clearBound(condition, spec.bound, spec.clearThreshold);
    if (bound === undefined || typeof operand !== 'number') return false;
    return !compare(condition, operand, bound);
  }
  const ranged = condition === 'outside' || condition === 'inside';
  if ((ranged ? spec.range : spec.bound) === undefined) return false;
  return !conditionHolds(spec, operand);
}

export function compileCondition(spec: HysteresisSpec): CompiledCondition {
  return {
    condition: spec.condition,
    holds: (operand) => conditionHolds(spec, operand),
    clears: (operand) => clearHolds(spec, operand),
  };
}
