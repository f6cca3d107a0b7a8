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
import { connect, defer, EMPTY, endWith, groupBy, ignoreElements, merge, mergeMap, Observable, switchMap, takeUntil, tap } from 'rxjs';
import type { OperatorFunction, Subscriber } from 'rxjs';
import { createWatermarks } from '../domain/watermarks.js';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { ruleChanges } from './rule-changes.js';
import { ruleEvaluator, ruleOperator } from './rule-operator.js';
import { evaluateInto } from './sample-time-rule.js';

export interface EvaluateRulesOptions extends RuleOptions {
  /**
   * Does the rule apply to this device now? Asked once per (sample, rule of its metric) for rules
   * whose scope names devices, groups or tags; a rule with an empty scope applies to every device
   * (SPEC, Rule `scope`) and is not asked about. Default: always.
   */
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
          // Direct dispatch (issue 12, alert p99): a sample goes from the metric's list of rule
          // inlets straight into each rule — a threshold or rate rule is one function call, no
          // Subject, filter or subscriber hop and no allocation per sample. Lists are copied on
          // change, so a rule that starts or stops while a sample is dispatched neither misses
          // nor breaks the loop.
          const routes = new Map<string, readonly ((sample: RuleSample) => void)[]>();
          const open = new Set<Subscriber<never>>();
          let samplesDone = false;
          /** Adds a rule's inlet to its metric; the returned teardown takes it out. */
          const route = (rule: Rule, subscriber: Subscriber<never>, inlet: (sample: RuleSample) => void): (() => void) => {
            routes.set(rule.metric, [...(routes.get(rule.metric) ?? []), inlet]);
            open.add(subscriber);
            return () => {
              open.delete(subscriber);
              const left = (routes.get(rule.metric) ?? []).filter((other) => other !== inlet);
              if (left.length > 0) routes.set(rule.metric, left);
              else routes.delete(rule.metric);
            };
          };
          // Asked once per rule when it starts, not per sample (issue 12, alert p99).
          const scoped = (rule: Rule): boolean => inScope !== undefined && (rule.scope.devices !== undefined || rule.scope.groups !== undefined || rule.scope.tags !== undefined);
          const applies = (rule: Rule, checked: boolean, sample: RuleSample): boolean => {
            if (checked && inScope?.(rule, sample.deviceId) === false) return false;
            onEvaluate?.();
            return true;
          };
          // Absence rules (timers) run as their operator over the rule's samples.
          const forRule = (rule: Rule): Observable<RuleSample> =>
            new Observable<RuleSample>((subscriber) => {
              if (samplesDone) {
                subscriber.complete();
                return undefined;
              }
              const checked = scoped(rule);
              return route(rule, subscriber, (sample) => {
                if (applies(rule, checked, sample)) subscriber.next(sample);
              });
            });
          // Threshold and rate rules are called as plain functions from the dispatch loop.
          const evaluated = (rule: Rule): Observable<RuleTransition> =>
            new Observable<RuleTransition>((subscriber) => {
              const evaluate = ruleEvaluator(rule, ruleOptions);
              if (evaluate === undefined) return forRule(rule).pipe(ruleOperator(rule, ruleOptions)).subscribe(subscriber);
              if (samplesDone) {
                subscriber.complete();
                return undefined;
              }
              const checked = scoped(rule);
              return route(rule, subscriber, (sample) => {
                if (applies(rule, checked, sample)) evaluateInto(subscriber, evaluate, sample);
              });
            });
          const dispatch$ = shared$.pipe(
            tap({
              next: (sample) => {
                const inlets = routes.get(sample.metric);
                if (inlets !== undefined) for (const inlet of inlets) inlet(sample);
              },
              complete: () => {
                samplesDone = true;
                for (const subscriber of [...open]) subscriber.complete();
              },
            }),
            ignoreElements(),
          );
          const samplesDone$ = shared$.pipe(ignoreElements(), endWith(true));
          const transitions$ = rules$.pipe(
            takeUntil(samplesDone$),
            ruleChanges(),
            groupBy((change) => change.id),
            mergeMap((changes$) => changes$.pipe(switchMap(({ rule }) => (rule?.enabled === true ? evaluated(rule) : EMPTY)))),
          );
          return merge(transitions$, dispatch$);
        }),
      );
    });
}
