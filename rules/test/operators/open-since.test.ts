/**
 * `openSince` (issue 15 item 5, ADR 0013): a pipeline that takes a device over from another
 * node starts from the alerts left open, so the next clear sample resolves them and the
 * breach goes on without a second firing.
 */
import { describe, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { absenceRule } from '../../src/operators/absence-rule.js';
import { thresholdRule } from '../../src/operators/threshold-rule.js';
import type { RuleOptions } from '../../src/rule-options.js';
import { createTestScheduler, fired, makeRule, resolved, samplesAt } from '../helpers/marbles.js';

function expectThreshold(options: Partial<RuleOptions>, marbles: string, values: Record<string, number>, expected: string, transitions: Record<string, ReturnType<typeof fired>>): void {
  const scheduler = createTestScheduler();
  scheduler.run(({ cold, expectObservable }) => {
    const samples$ = samplesAt(scheduler, cold, marbles, values);
    expectObservable(samples$.pipe(thresholdRule(makeRule(), { latenessMs: 60_000, ...options }))).toBe(expected, transitions);
  });
}

function expectAbsence(options: Partial<RuleOptions>, marbles: string, expected: string, transitions: Record<string, ReturnType<typeof fired>>): void {
  const rule: Rule = makeRule({ kind: 'absence', threshold: undefined, absenceMs: 5 });
  const scheduler = createTestScheduler();
  scheduler.run(({ hot, expectObservable }) => {
    const samples$ = samplesAt(scheduler, hot, marbles, { a: 21 });
    expectObservable(samples$.pipe(absenceRule(rule, { latenessMs: 1000, ...options }))).toBe(expected, transitions);
  });
}

describe('openSince: rule state seeded from an alert already open', () => {
  it('threshold: no second firing for a breach that goes on; the first clear sample resolves', () => {
    expectThreshold({ openSince: () => 2 }, 'aaab|', { a: 40, b: 10 }, '---r|', { r: resolved(10, 3) });
  });

  it('threshold without it fires again (the duplicate the seed avoids)', () => {
    expectThreshold({}, 'aaab|', { a: 40, b: 10 }, 'f--r|', { f: fired(40, 0), r: resolved(10, 3) });
  });

  it('threshold: only the rule and device it names start firing', () => {
    expectThreshold({ openSince: (_rule, deviceId) => (deviceId === 'other' ? 2 : undefined) }, 'aaab|', { a: 40, b: 10 }, 'f--r|', { f: fired(40, 0), r: resolved(10, 3) });
  });

  it('absence: the first sample resolves the open silence, then timing starts over', () => {
    expectAbsence({ openSince: () => 0 }, '---a', '---r----f', { r: resolved(null, 3), f: fired(null, 8) });
  });

  it('absence without it: the sample only starts the timing', () => {
    expectAbsence({}, '---a', '--------f', { f: fired(null, 8) });
  });
});
