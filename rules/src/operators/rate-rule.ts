/**
 * `rate` rules: the change per second of sample time (between consecutive samples, or with
 * `window` between the oldest and newest sample of the window) compared with `ratePerS` or
 * `range` — `>` 2 for a rise faster than 2/s, `<` -2 for a fall faster than 2/s, `outside`
 * [-2, 2] for either. Numbers only; the first sample of a device gives no rate.
 */
import type { Rule } from '@outpost/protocol';
import type { OperatorFunction } from 'rxjs';
import { rateSignal } from '../domain/signal.js';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { sampleTimeRule, type SampleTimeRuleSpec } from './sample-time-rule.js';

export function rateRule(rule: Rule, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  return sampleTimeRule(rule, options, rateSpec(rule));
}

/** What a rate rule compares: its `ratePerS`, against the change per second. */
export function rateSpec(rule: Rule): SampleTimeRuleSpec {
  return { bound: rule.ratePerS, signal: () => rateSignal(rule.window) };
}
