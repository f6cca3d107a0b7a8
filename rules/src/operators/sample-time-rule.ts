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
import type { OperatorFunction } from 'rxjs';
import { alertTiming } from '../domain/alert-state.js';
import { compileCondition } from '../domain/hysteresis.js';
import { createSeriesEvaluator } from '../domain/series-evaluator.js';
import type { SeriesEvaluator } from '../domain/series-evaluator.js';
import type { Signal } from '../domain/signal.js';
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

export function sampleTimeRule(rule: Rule, options: RuleOptions, spec: SampleTimeRuleSpec): OperatorFunction<RuleSample, RuleTransition> {
  if (!rule.enabled) return ignoreElements();
  const condition = compileCondition({
    condition: rule.condition,
    bound: spec.bound,
    range: rule.range,
    clearThreshold: rule.clearThreshold,
  });
  const timing = alertTiming(rule);
  return (samples$) =>
    new Observable<RuleTransition>((subscriber) => {
      const { watermarks, latenessMs, now } = resolveRuleOptions(options);
      const devices = new Map<string, SeriesEvaluator>();
      const evaluate = (sample: RuleSample): RuleTransition | undefined => {
        watermarks.observe(sample.deviceId, sample.ts);
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
      return samples$.subscribe({
        next(sample) {
          let transition: RuleTransition | undefined;
          try {
            transition = evaluate(sample);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (transition !== undefined) subscriber.next(transition);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
