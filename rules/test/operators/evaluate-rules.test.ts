import { describe, expect, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { concat, NEVER, of } from 'rxjs';
import { evaluateRules } from '../../src/operators/evaluate-rules.js';
import { createTestScheduler, fired, makeRule, makeSample, resolved, samplesAt } from '../helpers/marbles.js';

const options = { latenessMs: 500 };

describe('evaluateRules', () => {
  it('adds, changes and removes rules at runtime without resetting the others', () => {
    const r1 = makeRule({ id: 'r1', forMs: 2 });
    const r2 = makeRule({ id: 'r2' });
    const r2Critical = makeRule({ id: 'r2', severity: 'critical' });
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // Rule sets change on odd frames, samples arrive on even ones. Were r1 restarted by any
      // change, its forMs would start over and it would fire a second time.
      const rules$ = hot<readonly Rule[]>('a--b-c-d-e', {
        a: [r1],
        b: [r1, r2],
        c: [r1, r2Critical],
        d: [{ ...r1 }, { ...r2Critical }],
        e: [r2Critical],
      });
      const samples$ = samplesAt(scheduler, hot, 'a-a-a-a-a-b', { a: 31, b: 20 });
      expectObservable(samples$.pipe(evaluateRules(rules$, options))).toBe('--x-y-z---w', {
        x: fired(31, 2),
        y: fired(31, 4, { ruleId: 'r2' }),
        z: fired(31, 6, { ruleId: 'r2', severity: 'critical' }),
        w: resolved(20, 10, { ruleId: 'r2', severity: 'critical' }),
      });
    });
  });

  it('runs nothing for a disabled rule, and starts it once enabled', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const rules$ = hot<readonly Rule[]>('a--b', { a: [makeRule({ enabled: false })], b: [makeRule()] });
      const samples$ = samplesAt(scheduler, hot, 'a-a-a', { a: 31 });
      expectObservable(samples$.pipe(evaluateRules(rules$, options))).toBe('----x', { x: fired(31, 4) });
    });
  });

  it('routes samples by metric and shares one per-device watermark between rules', () => {
    const hotTemp = makeRule({ id: 'hot' });
    const dryAbsence = makeRule({ id: 'dry', kind: 'absence', metric: 'humidity', threshold: undefined, absenceMs: 5 });
    const scheduler = createTestScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const samples$ = hot('ab', {
        a: makeSample(1000, 55, { metric: 'humidity', arrivedAt: 0 }),
        b: makeSample(100, 31, { arrivedAt: 1 }),
      });
      const rules$ = concat(of([hotTemp, dryAbsence]), NEVER);
      expectObservable(samples$.pipe(evaluateRules(rules$, options))).toBe('-x---y', {
        x: fired(31, 100, { ruleId: 'hot', arrivedAt: 1, at: 1, late: true }),
        y: fired(null, 5, { ruleId: 'dry', metric: 'humidity' }),
      });
    });
  });

  it('sees every sample of a synchronous source, and completes with it', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ expectObservable }) => {
      const samples$ = of(makeSample(0, 31), makeSample(1, 20));
      expectObservable(samples$.pipe(evaluateRules(concat(of([makeRule()]), NEVER), options))).toBe('(xy|)', {
        x: fired(31, 0, { at: 0 }),
        y: resolved(20, 1, { at: 0 }),
      });
    });
  });

  it('asks inScope only about rules whose scope names devices, groups or tags, and counts what it evaluates', () => {
    const everywhere = makeRule({ id: 'all' });
    const onlyD2 = makeRule({ id: 'd2', scope: { devices: ['d2'] } });
    const tagged = makeRule({ id: 'tagged', scope: { tags: { site: 'north' } } });
    const asked: string[] = [];
    let evaluated = 0;
    const transitions: string[] = [];
    of(makeSample(0, 31), makeSample(1, 31, { deviceId: 'd2' }))
      .pipe(
        evaluateRules(concat(of([everywhere, onlyD2, tagged]), NEVER), {
          ...options,
          now: () => 0,
          inScope: (rule, deviceId) => {
            asked.push(`${rule.id}/${deviceId}`);
            return rule.id === 'd2' ? deviceId === 'd2' : false;
          },
          onEvaluate: () => void (evaluated += 1),
        }),
      )
      .subscribe((transition) => transitions.push(`${transition.ruleId}/${transition.deviceId}`));
    expect(asked).toEqual(['d2/d1', 'tagged/d1', 'd2/d2', 'tagged/d2']);
    expect(evaluated).toBe(3);
    expect(transitions).toEqual(['all/d1', 'all/d2', 'd2/d2']);
  });
});
