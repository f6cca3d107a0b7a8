/**
 * A changing set of rules over one sample stream. `rules$` emits the whole current rule set
 * each time it changes; each rule runs its own operator, keyed by id: an added rule starts, a
 * removed one stops (its state is dropped), a changed one restarts with fresh state, and the
 * others are untouched. A disabled rule runs nothing. Samples are dispatched to their metric
 * through a map (one lookup per sample, whatever the number of metrics), and one per-device
 * watermark store is shared by all rules. `inScope` (the platform's engine: groups, tags,
 * devices) filters each rule's samples *before* its operator, so a rule keeps no state for
 * devices it never applies to. The output completes when the samples complete (and absence
 * timers ran out).
 */
import type { Rule } from '@outpost/protocol';
import { connect, defer, EMPTY, endWith, filter, groupBy, ignoreElements, merge, mergeMap, Subject, switchMap, takeUntil, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import { createWatermarks } from '../domain/watermarks.js';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { ruleChanges } from './rule-changes.js';
import { ruleOperator } from './rule-operator.js';

export interface EvaluateRulesOptions extends RuleOptions {
  /** Does the rule apply to this device now? Asked once per (sample, rule of its metric); default: always. */
  readonly inScope?: (rule: Rule, deviceId: string) => boolean;
  /** Counts rule evaluations (one per sample handed to a rule). */
  readonly onEvaluate?: () => void;
}

export function evaluateRules(rules$: Observable<readonly Rule[]>, options: EvaluateRulesOptions): OperatorFunction<RuleSample, RuleTransition> {
  const { inScope, onEvaluate } = options;
  return (samples$) =>
    defer(() => {
      const watermarks = options.watermarks ?? createWatermarks();
      const ruleOptions: RuleOptions = { ...options, watermarks };
      return samples$.pipe(
        tap((sample) => watermarks.observe(sample.deviceId, sample.ts)),
        connect((shared$) => {
          const routes = new Map<string, Subject<RuleSample>>();
          const metric$ = (metric: string): Observable<RuleSample> => {
            let routed = routes.get(metric);
            if (routed === undefined) {
              routed = new Subject<RuleSample>();
              routes.set(metric, routed);
            }
            return routed;
          };
          const dispatch$ = shared$.pipe(
            tap({
              next: (sample) => routes.get(sample.metric)?.next(sample),
              complete: () => {
                for (const routed of routes.values()) routed.complete();
              },
            }),
            ignoreElements(),
          );
          const forRule = (rule: Rule): Observable<RuleSample> =>
            inScope === undefined && onEvaluate === undefined
              ? metric$(rule.metric)
              : metric$(rule.metric).pipe(
                  filter((sample) => {
                    if (inScope !== undefined && !inScope(rule, sample.deviceId)) return false;
                    onEvaluate?.();
                    return true;
                  }),
                );
          const samplesDone$ = shared$.pipe(ignoreElements(), endWith(true));
          const transitions$ = rules$.pipe(
            takeUntil(samplesDone$),
            ruleChanges(),
            groupBy((change) => change.id),
            mergeMap((changes$) => changes$.pipe(switchMap(({ rule }) => (rule?.enabled === true ? forRule(rule).pipe(ruleOperator(rule, ruleOptions)) : EMPTY)))),
          );
          return merge(transitions$, dispatch$);
        }),
      );
    });
}
