/** Shared fixtures for the operator specs: rules, samples and transitions in virtual time. */
import type { Rule } from '@outpost/protocol';
import { map } from 'rxjs';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { RuleSample, SampleValue } from '../../src/rule-sample.js';
import type { RuleTransition } from '../../src/rule-transition.js';

export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A valid enabled threshold rule: temp > 30, fires at once, no cooldown. */
export function makeRule(overrides: Partial<Rule> = {}): Rule {
  return {
    v: 1,
    id: 'r1',
    name: 'hot',
    kind: 'threshold',
    scope: {},
    metric: 'temp',
    condition: '>',
    threshold: 30,
    forMs: 0,
    severity: 'warning',
    cooldownMs: 0,
    enabled: true,
    ...overrides,
  };
}

/** d1's temp at sample time `ts`, arrived at `ts` unless told otherwise. */
export function makeSample(ts: number, value: SampleValue, overrides: Partial<RuleSample> = {}): RuleSample {
  return { deviceId: 'd1', metric: 'temp', value, ts, arrivedAt: ts, ...overrides };
}

/** A transition of r1 for d1's temp, decided and emitted at `ts` unless told otherwise. */
export function makeTransition(
  state: RuleTransition['state'],
  value: RuleTransition['value'],
  ts: number,
  overrides: Partial<RuleTransition> = {},
): RuleTransition {
  return {
    ruleId: 'r1',
    deviceId: 'd1',
    metric: 'temp',
    state,
    value,
    ts,
    arrivedAt: ts,
    at: ts,
    severity: 'warning',
    late: false,
    ...overrides,
  };
}

export const fired = (value: RuleTransition['value'], ts: number, overrides: Partial<RuleTransition> = {}): RuleTransition =>
  makeTransition('firing', value, ts, overrides);
export const resolved = (value: RuleTransition['value'], ts: number, overrides: Partial<RuleTransition> = {}): RuleTransition =>
  makeTransition('resolved', value, ts, overrides);

/**
 * Samples at their marble frame: each letter of `marbles` is a sample of `values[letter]`
 * taken and arrived at the frame it appears on (so `ts` = frame = `at` of what it decides).
 */
export function samplesAt(
  scheduler: TestScheduler,
  hot: (marbles: string) => Observable<string>,
  marbles: string,
  values: Readonly<Record<string, SampleValue>>,
  overrides: Partial<RuleSample> = {},
): Observable<RuleSample> {
  return hot(marbles).pipe(
    map((letter) => {
      const value = values[letter];
      if (value === undefined) throw new Error(`no value for marble ${letter}`);
      return makeSample(scheduler.now(), value, overrides);
    }),
  );
}
