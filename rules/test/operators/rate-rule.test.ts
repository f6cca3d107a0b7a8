import { describe, it } from 'vitest';
import type { Rule, RuleCondition } from '@outpost/protocol';
import { rateRule } from '../../src/operators/rate-rule.js';
import type { RuleTransition } from '../../src/rule-transition.js';
import { createTestScheduler, fired, makeRule, resolved, samplesAt } from '../helpers/marbles.js';

const options = { latenessMs: 60_000 };

/** Samples one second apart: `a 999ms b 999ms c …` puts letter n at n × 1000 ms. */
const everySecond = (letters: string): string => `${letters.split('').join(' 999ms ')}|`;

function expectRate(rule: Partial<Rule>, letters: string, values: Record<string, number | boolean | string>, expected: string, transitions: Record<string, RuleTransition> = {}): void {
  const scheduler = createTestScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const samples$ = samplesAt(scheduler, cold, everySecond(letters), values);
    const rateRuleOf = makeRule({ kind: 'rate', threshold: undefined, ratePerS: 2, ...rule });
    expectObservable(samples$.pipe(rateRule(rateRuleOf, options))).toBe(expected, transitions);
  });
}

describe('rateRule', () => {
  it.each<[RuleCondition, boolean]>([
    ['>', false],
    ['>=', true],
  ])('exactly at the rate, %s 2/s fires: %s', (condition, fires) => {
    expectRate({ condition }, 'ab', { a: 10, b: 12 }, fires ? '1000ms f|' : '1001ms |', { f: fired(2, 1000) });
  });

  it('fires on a rise faster than ratePerS and resolves when it slows', () => {
    expectRate({}, 'abcd', { a: 0, b: 1, c: 4, d: 5 }, '2000ms f 999ms r|', { f: fired(3, 2000), r: resolved(1, 3000) });
  });

  it('fires on a fall faster than ratePerS with `<` and a negative bound', () => {
    expectRate({ condition: '<', ratePerS: -2 }, 'abcd', { a: 10, b: 9, c: 5, d: 5 }, '2000ms f 999ms r|', { f: fired(-4, 2000), r: resolved(0, 3000) });
  });

  it('catches either direction with `outside` a range', () => {
    expectRate({ condition: 'outside', ratePerS: undefined, range: [-2, 2] }, 'abcde', { a: 0, b: 3, c: 3, d: 0, e: 0 }, '1000ms f 999ms r 999ms g 999ms s|', {
      f: fired(3, 1000),
      r: resolved(0, 2000),
      g: fired(-3, 3000),
      s: resolved(0, 4000),
    });
  });

  it('measures over the window, from its oldest sample', () => {
    // rates over (t − 2.5 s, t]: b (0→1)/1 s = 1, c (0→5)/2 s = 2.5, d (1→5)/2 s = 2, e (5→5)/2 s = 0
    expectRate({ window: { ms: 2500, fn: 'mean' } }, 'abcde', { a: 0, b: 1, c: 5, d: 5, e: 5 }, '2000ms f 999ms r 1000ms |', {
      f: fired(2.5, 2000),
      r: resolved(2, 3000),
    });
  });

  it('applies hysteresis to the rate', () => {
    expectRate({ clearThreshold: 1 }, 'abcde', { a: 0, b: 3, c: 4.5, d: 5.5, e: 5.5 }, '1000ms f 1999ms r 1000ms |', {
      f: fired(3, 1000),
      r: resolved(1, 3000),
    });
  });

  it('ignores strings and booleans', () => {
    expectRate({}, 'abcd', { a: 0, b: 'up', c: true, d: 1 }, '3001ms |');
  });
});
