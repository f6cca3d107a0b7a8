import { describe, it } from 'vitest';
import type { Rule, RuleCondition, RuleWindowFn } from '@outpost/protocol';
import { thresholdRule } from '../../src/operators/threshold-rule.js';
import type { RuleTransition } from '../../src/rule-transition.js';
import { createTestScheduler, fired, makeRule, makeSample, resolved, samplesAt } from '../helpers/marbles.js';

const options = { latenessMs: 60_000 };

/** Runs d1's temp samples (one per marble letter, at its frame) through a threshold rule. */
function expectThreshold(rule: Partial<Rule>, marbles: string, values: Record<string, number | boolean | string>, expected: string, transitions: Record<string, RuleTransition> = {}): void {
  const scheduler = createTestScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const samples$ = samplesAt(scheduler, cold, marbles, values);
    expectObservable(samples$.pipe(thresholdRule(makeRule(rule), options))).toBe(expected, transitions);
  });
}

describe('thresholdRule', () => {
  it.each<[RuleCondition, boolean]>([
    ['>', false],
    ['>=', true],
    ['<', false],
    ['<=', true],
    ['==', true],
    ['!=', false],
  ])('exactly at the threshold, %s 30 fires: %s', (condition, fires) => {
    expectThreshold({ condition }, 'a|', { a: 30 }, fires ? 'f|' : '-|', { f: fired(30, 0) });
  });

  it.each<[RuleCondition, number, boolean]>([
    ['outside', 10, false],
    ['outside', 20, false],
    ['outside', 20.5, true],
    ['inside', 10, true],
    ['inside', 20, true],
    ['inside', 9.5, false],
  ])('exactly at a range bound, %s [10, 20] on %d fires: %s', (condition, value, fires) => {
    expectThreshold({ condition, range: [10, 20], threshold: undefined }, 'a|', { a: value }, fires ? 'f|' : '-|', { f: fired(value, 0) });
  });

  it('does not flap inside the hysteresis band, and resolves below the clear threshold', () => {
    expectThreshold(
      { clearThreshold: 25 },
      'abcdefg|',
      { a: 31, b: 28, c: 32, d: 27, e: 25, f: 29, g: 31 },
      'f---r-g|',
      { f: fired(31, 0), r: resolved(25, 4), g: fired(31, 6) },
    );
  });

  it('without a clear threshold, resolves as soon as the condition no longer holds', () => {
    expectThreshold({}, 'abc|', { a: 31, b: 30, c: 31 }, 'frg|', { f: fired(31, 0), r: resolved(30, 1), g: fired(31, 2) });
  });

  it('waits forMs of sample time and resets the wait when the condition breaks', () => {
    expectThreshold({ forMs: 3 }, 'aabaaaa|', { a: 31, b: 20 }, '------f|', { f: fired(31, 6) });
  });

  it('fires exactly when forMs has elapsed', () => {
    expectThreshold({ forMs: 3 }, 'aaaa|', { a: 31 }, '---f|', { f: fired(31, 3) });
  });

  it('emits firing once for a long breach and resolved once for a long recovery', () => {
    expectThreshold({ forMs: 2 }, 'aaaaaabbbbbb|', { a: 31, b: 20 }, '--f---r-----|', { f: fired(31, 2), r: resolved(20, 6) });
  });

  it('suppresses a new firing until the cooldown has passed since the resolve', () => {
    expectThreshold({ cooldownMs: 5 }, 'abaaaaaa|', { a: 31, b: 20 }, 'fr----g-|', { f: fired(31, 0), r: resolved(20, 1), g: fired(31, 6) });
  });

  it('keeps a state younger than minStateMs (a short dip does not resolve)', () => {
    expectThreshold({ minStateMs: 4 }, 'abbabb|', { a: 31, b: 20 }, 'f---r-|', { f: fired(31, 0), r: resolved(20, 4) });
  });

  it.each<[RuleWindowFn, RuleCondition, Record<string, number>, string, Record<string, RuleTransition>]>([
    ['mean', '>', { a: 20, b: 50, c: 20 }, '-fr--|', { f: fired(35, 1), r: resolved(30, 2) }],
    ['max', '>', { a: 20, b: 50, c: 20 }, '-f--r|', { f: fired(50, 1), r: resolved(20, 4) }],
    ['min', '<', { a: 30, b: 20, c: 30 }, '-f--r|', { f: fired(20, 1), r: resolved(30, 4) }],
  ])('compares the window %s (3 ms of sample time)', (fn, condition, values, expected, transitions) => {
    const threshold = condition === '<' ? 25 : 30;
    expectThreshold({ window: { ms: 3, fn }, condition, threshold }, 'abccc|', values, expected, transitions);
  });

  it('ignores values it cannot compare and carries on', () => {
    expectThreshold({}, 'abcd|', { a: 'hot', b: true, c: 31, d: '20' }, '--f-|', { f: fired(31, 2) });
  });

  it('compares booleans as 1/0 and strings as text with == and !=', () => {
    expectThreshold({ condition: '==', threshold: 1 }, 'abcd|', { a: false, b: true, c: 'on', d: '1' }, '-frg|', {
      f: fired(1, 1),
      r: resolved(null, 2),
      g: fired(null, 3),
    });
  });

  it('marks the transitions of a week-old replay late', () => {
    const week = 7 * 24 * 3_600_000;
    const now = 10 * week;
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const samples$ = cold('ab|', {
        a: makeSample(now - week, 31, { arrivedAt: now }),
        b: makeSample(now - week + 1000, 20, { arrivedAt: now }),
      });
      expectObservable(samples$.pipe(thresholdRule(makeRule(), options))).toBe('fr|', {
        f: fired(31, now - week, { arrivedAt: now, at: 0, late: true }),
        r: resolved(20, now - week + 1000, { arrivedAt: now, at: 1, late: true }),
      });
    });
  });

  it('emits nothing for a disabled rule', () => {
    expectThreshold({ enabled: false }, 'ab|', { a: 31, b: 20 }, '--|');
  });

  it('fires nothing, and never throws, for a rule without its threshold', () => {
    expectThreshold({ threshold: undefined }, 'a|', { a: 31 }, '-|');
  });
});
