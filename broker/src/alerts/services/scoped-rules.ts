/**
 * `evaluateRules` of @outpost/rules with one addition: each rule sees only the samples of the
 * devices in its scope. The rule-set handling is the same (ruleChanges: added → starts,
 * removed → stops, changed → restarts with fresh state, unchanged → untouched; samples routed
 * by metric; one watermark store for all rules), and each rule runs `ruleOperator` — the same
 * operators the agent and the backtest use. Filtering before the operator (rather than
 * dropping transitions after it) keeps no state for devices a rule never applies to. Samples
 * are dispatched to their metric through a map (one lookup per sample), not through a filter
 * per metric — with hundreds of metrics that is most of the engine's time.
 */
import type { Rule } from '@outpost/protocol';
import { createWatermarks, ruleChanges, ruleOperator, type RuleOptions, type RuleSample, type RuleTransition } from '@outpost/rules';
import { connect, defer, EMPTY, endWith, filter, groupBy, ignoreElements, merge, mergeMap, Subject, switchMap, takeUntil, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';

export interface ScopedRuleOptions extends RuleOptions {
  /** Does the rule apply to this device now? Asked once per (sample, rule of its metric). */
  readonly inScope: (rule: Rule, deviceId: string) => boolean;
  /** Counts rule evaluations (one per sample handed to a rule). */
  readonly onEvaluate?: () => void;
}

export function evaluateScopedRules(rules$: Observable<readonly Rule[]>, options: ScopedRuleOptions): OperatorFunction<RuleSample, RuleTransition> {
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
          const samplesDone$ = shared$.pipe(ignoreElements(), endWith(true));
          const transitions$ = rules$.pipe(
            takeUntil(samplesDone$),
            ruleChanges(),
            groupBy((change) => change.id),
            mergeMap((changes$) =>
              changes$.pipe(
                switchMap(({ rule }) =>
                  rule?.enabled === true
                    ? metric$(rule.metric).pipe(
                        filter((sample) => {
                          if (!inScope(rule, sample.deviceId)) return false;
                          onEvaluate?.();
                          return true;
                        }),
                        ruleOperator(rule, ruleOptions),
                      )
                    : EMPTY,
                ),
              ),
            ),
          );
          return merge(transitions$, dispatch$);
        }),
      );
    });
}
