/**
 * The operator behind threshold and rate rules: evaluation on sample time, one series per
 * device (samples of other metrics only advance the device's watermark), transitions marked
 * late against the watermark and the arrival time.
 *
 * Grouping by device is a Map of series evaluators inside one subscriber rather than
 * `groupBy` + `mergeMap`: the engine runs a thousand of these side by side on every sample,
 * and one hop per rule instead of six is what keeps that affordable (see README, Performance).
 */
import type { Rule } from '@outpost/protocol';
import { ignoreElements, Observable } from 'rxjs';
import type { OperatorFunction, Subscriber } from 'rxjs';
import { alertTiming } from '../domain/alert-state.js';
import { compileCondition } from '../domain/hysteresis.js';
import { createSeriesEvaluator } from '../domain/series-evaluator.js';
import type { SeriesEvaluator } from '../domain/series-evaluator.js';
import type { Signal } from '../domain/signal.js';
import type { AlertTiming } from '../domain/alert-state.js';
import type { CompiledCondition } from '../domain/hysteresis.js';
import { isLate } from '../domain/watermarks.js';
import type { RuleOptions } from '../rule-options.js';
import { resolveRuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';

export interface SampleTimeRuleSpec {
  /** `threshold` for threshold rules, `ratePerS` for rate rules. */
  readonly bound: number | undefined;
  /** A fresh signal for each device. */
  readonly signal: () => Signal;
}

/** One rule over every device's series, as a plain function: the transition a sample causes, if any. */
export type SampleEvaluator = (sample: RuleSample) => RuleTransition | undefined;

/**
 * The rule's evaluation without rxjs (issue 12: `evaluateRules` calls it straight from its
 * metric dispatch, one call per sample instead of three subscriber hops). Fresh state per call.
 * The caller observes every sample — of every metric — into `options.watermarks` before it
 * calls the evaluator (the dispatch does it once per sample, not once per rule).
 */
export function sampleTimeEvaluator(rule: Rule, options: RuleOptions, spec: SampleTimeRuleSpec): SampleEvaluator {
  return compiledEvaluator(rule, options, spec, compiled(rule, spec), false);
}

/** One evaluation into `subscriber`: the transition it made, if any, or the error it threw. */
export function evaluateInto(subscriber: Subscriber<RuleTransition>, evaluate: SampleEvaluator, sample: RuleSample): void {
  let transition: RuleTransition | undefined;
  try {
    transition = evaluate(sample);
  } catch (error) {
    subscriber.error(error);
    return;
  }
  if (transition !== undefined) subscriber.next(transition);
}

export function sampleTimeRule(rule: Rule, options: RuleOptions, spec: SampleTimeRuleSpec): OperatorFunction<RuleSample, RuleTransition> {
  if (!rule.enabled) return ignoreElements();
  const compiledRule = compiled(rule, spec);
  return (samples$) =>
    new Observable<RuleTransition>((subscriber) => {
      const evaluate = compiledEvaluator(rule, options, spec, compiledRule, true);
      return samples$.subscribe({
        next: (sample) => evaluateInto(subscriber, evaluate, sample),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

interface CompiledRule {
  readonly condition: CompiledCondition;
  readonly timing: AlertTiming;
}

function compiled(rule: Rule, spec: SampleTimeRuleSpec): CompiledRule {
  const condition = compileCondition({
    condition: rule.condition,
    bound: spec.bound,
    range: rule.range,
    clearThreshold: rule.clearThreshold,
  });
  return { condition, timing: alertTiming(rule) };
}

/** `observes`: the evaluator records each sample's time in the watermarks itself (the operator; the dispatch already did). */
function compiledEvaluator(rule: Rule, options: RuleOptions, spec: SampleTimeRuleSpec, { condition, timing }: CompiledRule, observes: boolean): SampleEvaluator {
  const { watermarks, latenessMs, now } = resolveRuleOptions(options);
  const devices = new Map<string, SeriesEvaluator>();
  return (sample) => {
    if (observes) watermarks.observe(sample.deviceId, sample.ts);
    if (sample.metric !== rule.metric) return undefined;
    let series = devices.get(sample.deviceId);
    if (series === undefined) {
      series = createSeriesEvaluator(condition, spec.signal(), timing, options.openSince?.(rule, sample.deviceId));
      devices.set(sample.deviceId, series);
    }
    const decision = series.next(sample.ts, sample.value);
    if (decision === undefined) return undefined;
    const watermark = watermarks.highest(sample.deviceId);
    return {
      ruleId: rule.id,
      deviceId: sample.deviceId,
      metric: rule.metric,
      state: decision.state,
      value: decision.value,
      ts: decision.ts,
      arrivedAt: sample.arrivedAt,
      at: now(),
      severity: rule.severity,
      late: isLate(decision.ts, { watermark, arrivedAt: sample.arrivedAt }, latenessMs),
    };
  };
}
