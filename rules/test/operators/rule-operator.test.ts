import { describe, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { ruleOperator } from '../../src/operators/rule-operator.js';
import type { RuleTransition } from '../../src/rule-transition.js';
import { createTestScheduler, fired, makeRule, samplesAt } from '../helpers/marbles.js';

describe('ruleOperator', () => {
  it.each<[string, Partial<Rule>, string, RuleTransition]>([
    ['threshold', { kind: 'threshold', threshold: 15 }, '-f', fired(20, 1)],
    ['rate', { kind: 'rate', threshold: undefined, ratePerS: 1000 }, '-f', fired(10_000, 1)],
    ['absence', { kind: 'absence', threshold: undefined, absenceMs: 3 }, '----f', fired(null, 4)],
  ])('picks the %s operator by kind', (_kind, rule, expected, transition) => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const samples$ = samplesAt(scheduler, hot, 'ab', { a: 10, b: 20 });
      expectObservable(samples$.pipe(ruleOperator(makeRule(rule), { latenessMs: 0 }))).toBe(expected, { f: transition });
    });
  });
});
