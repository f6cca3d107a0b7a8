/**
 * `absence` rules on arrival time: one timer per device on the injected scheduler, reset by
 * each sample of the rule's metric. After `absenceMs` without one the device fires once (a
 * silence is one alert, not a NoData flood); the next sample resolves it and starts over, so a
 * device that reconnects recovers on its own. Timing of a device starts with its first sample,
 * or at subscription for `options.expectedDevices`. When the source completes, pending timers
 * still run out (a device silent at the end of a replay still fires).
 */
import type { Rule } from '@outpost/protocol';
import { concat, concatMap, defer, EMPTY, filter, groupBy, ignoreElements, map, mergeMap, of, startWith, switchMap, timer } from 'rxjs';
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import { AbsenceTracker } from '../domain/absence-tracker.js';
import type { AbsenceDecision, AbsenceTiming } from '../domain/absence-tracker.js';
import type { RuleOptions } from '../rule-options.js';
import { resolveRuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';

/** A sample's arrival, or (no `arrivedAt`) the start of watching an expected device. */
interface Arrival {
  readonly deviceId: string;
  readonly arrivedAt?: number;
}

export function absenceRule(rule: Rule, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  const { absenceMs } = rule;
  if (!rule.enabled || absenceMs === undefined) return ignoreElements();
  const timing: AbsenceTiming = { absenceMs, cooldownMs: rule.cooldownMs, minStateMs: rule.minStateMs ?? 0 };
  return (samples$) =>
    defer(() => {
      const { scheduler, now, expectedDevices } = resolveRuleOptions(options);
      const seeds = [...new Set(expectedDevices(rule))].map((deviceId): Arrival => ({ deviceId }));
      return samples$.pipe(
        filter((sample) => sample.metric === rule.metric),
        map((sample): Arrival => ({ deviceId: sample.deviceId, arrivedAt: sample.arrivedAt })),
        startWith(...seeds),
        groupBy((arrival) => arrival.deviceId),
        mergeMap((device$) =>
          watchDevice(device$, timing, scheduler, options.openSince?.(rule, device$.key)).pipe(
            map(
              (decision): RuleTransition => ({
                ruleId: rule.id,
                deviceId: device$.key,
                metric: rule.metric,
                state: decision.state,
                value: null,
                ts: decision.ts,
                arrivedAt: decision.ts,
                at: now(),
                severity: rule.severity,
                late: false,
              }),
            ),
          ),
        ),
      );
    });
}

/** `firedAt`: an alert already open for the device (options.openSince); its next sample resolves it. */
function watchDevice(arrivals$: Observable<Arrival>, timing: AbsenceTiming, scheduler: SchedulerLike, firedAt?: number): Observable<AbsenceDecision> {
  return defer(() => {
    let tracker: AbsenceTracker | undefined;
    return arrivals$.pipe(
      switchMap((arrival) => {
        const current = scheduler.now();
        let decision: AbsenceDecision | undefined;
        if (tracker === undefined) {
          tracker = new AbsenceTracker(timing, current, firedAt);
          if (firedAt !== undefined && arrival.arrivedAt !== undefined) decision = tracker.arrive(current, arrival.arrivedAt);
        } else decision = tracker.arrive(current, arrival.arrivedAt ?? current);
        return concat(decision === undefined ? EMPTY : of(decision), whenDue(tracker, scheduler));
      }),
    );
  });
}

/** The tracker's next transitions, each at its due time on the scheduler. */
function whenDue(tracker: AbsenceTracker, scheduler: SchedulerLike): Observable<AbsenceDecision> {
  return defer(() => {
    const due = tracker.due();
    if (due === undefined) return EMPTY;
    return timer(Math.max(0, due - scheduler.now()), scheduler).pipe(
      concatMap(() => {
        const decision = tracker.elapse(scheduler.now());
        return concat(decision === undefined ? EMPTY : of(decision), whenDue(tracker, scheduler));
      }),
    );
  });
}
