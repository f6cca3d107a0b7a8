/**
 * A changing set of rules over one sample stream. `rules$` emits the whole current rule set
 * each time it changes; each rule runs its own operator, keyed by id: an added rule starts, a
 * removed one stops (its state is dropped), a changed one restarts with fresh state, and the
 * others are untouched. A disabled rule runs nothing. Samples are routed by metric, and one
 * per-device watermark store is shared by all rules. The output completes when the samples
 * complete (and absence timers ran out).
 */
import type { Rule } from '@outpost/protocol';
import { connect, defer, EMPTY, endWith, filter, groupBy, ignoreElements, mergeMap, share, switchMap, takeUntil, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import { createWatermarks } from '../domain/watermarks.js';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { ruleChanges } from './rule-changes.js';
import { ruleOperator } from './rule-operator.js';

export function evaluateRules(rules$: Observable<readonly Rule[]>, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  return (samples$) =>
    defer(() => {
      const watermarks = options.watermarks ?? createWatermarks();
      const ruleOptions: RuleOptions = { ...options, watermarks };
      return samples$.pipe(
        tap((sample) => watermarks.observe(sample.deviceId, sample.ts)),
        connect((shared$) => {
          const byMetric = new Map<string, Observable<RuleSample>>();
          const metric$ = (metric: string): Observable<RuleSample> => {
            let routed = byMetric.get(metric);
            if (routed === undefined) {
              routed = shared$.pipe(
                filter((sample) => sample.metric === metric),
                share(),
              );
              byMetric.set(metric, routed);
            }
            return routed;
          };
          const samplesDone$ = shared$.pipe(ignoreElements(), endWith(true));
          return rules$.pipe(
            takeUntil(samplesDone$),
            ruleChanges(),
            groupBy((change) => change.id),
            mergeMap((changes$) =>
              changes$.pipe(
                switchMap(({ rule }) =>
                  rule?.enabled === true ? metric$(rule.metric).pipe(ruleOperator(rule, ruleOptions)) : EMPTY,
                ),
              ),
            ),
          );
        }),
      );
    });
}
