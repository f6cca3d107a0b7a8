/**
 * `threshold` rules: the value (or, with `window`, its mean/min/max over `window.ms` of sample
 * time) compared with `threshold` or `range`, with `forMs`, hysteresis, cooldown and flap
 * control, per device on sample time.
 */
import type { Rule } from '@outpost/protocol';
import type { OperatorFunction } from 'rxjs';
import { rawSignal, windowSignal } from '../domain/signal.js';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { sampleTimeRule, type SampleTimeRuleSpec } from './sample-time-rule.js';

export function thresholdRule(rule: Rule, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  return sampleTimeRule(rule, options, thresholdSpec(rule));
}

/** What a threshold rule compares: its `threshold`, against the value or its window aggregate. */
export function thresholdSpec(rule: Rule): SampleTimeRuleSpec {
  const { window } = rule;
  return { bound: rule.threshold, signal: window === undefined ? rawSignal : () => windowSignal(window) };
}
