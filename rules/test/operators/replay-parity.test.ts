/**
 * The backtest (issue 6, item 6) replays stored samples through the same operators. These
 * tests pin down how: stored samples carry no arrival time, so the replay sets arrivedAt = ts
 * and emits each sample at its ts on a VirtualTimeScheduler (absence needs the clock), and the
 * result equals what the live run emitted, `at` aside.
 */
import { describe, expect, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { concatMap, from, map, timer, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import type { Observable } from 'rxjs';
import { ruleOperator } from '../../src/operators/rule-operator.js';
import type { RuleSample } from '../../src/rule-sample.js';
import type { RuleTransition } from '../../src/rule-transition.js';
import { makeRule, makeSample } from '../helpers/marbles.js';

const T0 = 1_700_000_000_000;

/** What a live run saw: samples measured at ts, arriving 50 ms later. */
const live: RuleSample[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22].map((second, index) =>
  makeSample(T0 + second * 1000, [25, 31, 33, 34, 28, 26, 24, 31, 35, 36, 20, 20][index] ?? 0, { arrivedAt: T0 + second * 1000 + 50 }),
);

/** Emits the samples at their arrival time on the scheduler (the live run, in virtual time). */
function arriving(samples: readonly RuleSample[], scheduler: VirtualTimeScheduler, arrival: (s: RuleSample) => number): Observable<RuleSample> {
  return from(samples).pipe(concatMap((sample) => timer(Math.max(0, arrival(sample) - scheduler.now()), scheduler).pipe(map(() => sample))));
}

function run(rule: Rule, samples: readonly RuleSample[], arrival: (s: RuleSample) => number): RuleTransition[] {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY);
  scheduler.frame = T0;
  const out: RuleTransition[] = [];
  arriving(samples, scheduler, arrival)
    .pipe(ruleOperator(rule, { scheduler, latenessMs: 60_000 }))
    .subscribe((transition) => out.push(transition));
  scheduler.flush();
  return out;
}

const withoutTimes = ({ at: _at, arrivedAt: _arrivedAt, ...rest }: RuleTransition) => rest;

describe('a replay of stored samples (backtest) agrees with the live run', () => {
  it.each<[string, Partial<Rule>]>([
    ['threshold with for and hysteresis', { forMs: 1000, clearThreshold: 27 }],
    ['threshold over a window', { window: { ms: 3000, fn: 'mean' } }],
    ['rate', { kind: 'rate', threshold: undefined, ratePerS: 4 }],
  ])('%s', (_name, overrides) => {
    const rule = makeRule(overrides);
    const liveRun = run(rule, live, (s) => s.arrivedAt);
    const replay = run(
      rule,
      live.map((s) => ({ ...s, arrivedAt: s.ts })),
      (s) => s.ts,
    );
    expect(liveRun.length).toBeGreaterThan(0);
    expect(replay.map(withoutTimes)).toEqual(liveRun.map(withoutTimes));
  });

  it('absence, timed on the replay clock', () => {
    const rule = makeRule({ kind: 'absence', threshold: undefined, absenceMs: 5000 });
    const replay = run(
      rule,
      live.map((s) => ({ ...s, arrivedAt: s.ts })),
      (s) => s.ts,
    );
    expect(replay.map(({ state, ts }) => [state, ts - T0])).toEqual([
      ['firing', 13_000],
      ['resolved', 20_000],
      ['firing', 27_000],
    ]);
  });
});
