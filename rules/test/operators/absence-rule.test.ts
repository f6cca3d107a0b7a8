import { describe, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { absenceRule } from '../../src/operators/absence-rule.js';
import type { RuleOptions } from '../../src/rule-options.js';
import type { RuleTransition } from '../../src/rule-transition.js';
import { createTestScheduler, fired, makeRule, makeSample, resolved, samplesAt } from '../helpers/marbles.js';

const silent = (ts: number, overrides: Partial<RuleTransition> = {}): RuleTransition => fired(null, ts, overrides);
const back = (ts: number, overrides: Partial<RuleTransition> = {}): RuleTransition => resolved(null, ts, overrides);

function absence(overrides: Partial<Rule> = {}): Rule {
  return makeRule({ kind: 'absence', threshold: undefined, absenceMs: 5, ...overrides });
}

/** d1's temp arriving at each letter's frame, through an absence rule (hot: no completion). */
function expectAbsence(rule: Partial<Rule>, marbles: string, expected: string, transitions: Record<string, RuleTransition>, options: Partial<RuleOptions> = {}): void {
  const scheduler = createTestScheduler();
  scheduler.run(({ hot, expectObservable }) => {
    const samples$ = samplesAt(scheduler, hot, marbles, { a: 21 });
    expectObservable(samples$.pipe(absenceRule(absence(rule), { latenessMs: 1000, ...options }))).toBe(expected, transitions);
  });
}

describe('absenceRule', () => {
  it('fires once, exactly absenceMs after the last sample, however long the silence', () => {
    expectAbsence({}, 'a', '-----f', { f: silent(5) });
  });

  it('restarts the wait with each sample', () => {
    expectAbsence({}, 'a---a', '---------f', { f: silent(9) });
  });

  it('resolves on the next sample, at its arrival time', () => {
    expectAbsence({}, 'a---------a', '-----f----r----g', { f: silent(5), r: back(10), g: silent(15) });
  });

  it('survives a reconnect: samples stop, resume, stop again', () => {
    expectAbsence({}, 'aaa 17ms aaa', '7ms f 12ms r 6ms g', { f: silent(7), r: back(20), g: silent(27) });
  });

  it('suppresses the next firing until the cooldown after the resolve has passed', () => {
    expectAbsence({ cooldownMs: 20 }, 'a---------a', '-----f----r-------------------g', { f: silent(5), r: back(10), g: silent(30) });
  });

  it('holds the resolve until the firing is minStateMs old (flap control)', () => {
    expectAbsence({ minStateMs: 10 }, 'a------a', '-----f---------r---------g', { f: silent(5), r: back(7, { at: 15 }), g: silent(25) });
  });

  it('watches each device on its own', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const samples$ = hot('a-b-----c', {
        a: makeSample(0, 1),
        b: makeSample(2, 1, { deviceId: 'd2' }),
        c: makeSample(8, 1, { deviceId: 'd2' }),
      });
      expectObservable(samples$.pipe(absenceRule(absence(), { latenessMs: 0 }))).toBe('5ms f-gr 4ms h', {
        f: silent(5),
        g: silent(7, { deviceId: 'd2' }),
        r: back(8, { deviceId: 'd2' }),
        h: silent(13, { deviceId: 'd2' }),
      });
    });
  });

  it('is not reset by samples of other metrics', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const samples$ = hot('ab-b', { a: makeSample(0, 1), b: makeSample(1, 1, { metric: 'humidity' }) });
      expectObservable(samples$.pipe(absenceRule(absence(), { latenessMs: 0 }))).toBe('-----f', { f: silent(5) });
    });
  });

  it('times an expected device from the subscription, before its first sample', () => {
    expectAbsence({}, '--', '-----f', { f: silent(5, { deviceId: 'd9' }) }, { expectedDevices: () => ['d9', 'd9'] });
  });

  it('still fires for a device silent when the source completes, then completes', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const samples$ = samplesAt(scheduler, cold, 'a-|', { a: 1 });
      expectObservable(samples$.pipe(absenceRule(absence(), { latenessMs: 0 }))).toBe('-----(f|)', { f: silent(5) });
    });
  });

  it('emits nothing for a disabled rule', () => {
    expectAbsence({ enabled: false }, 'a', '', {});
  });
});
