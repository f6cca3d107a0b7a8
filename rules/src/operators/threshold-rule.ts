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
import { sampleTimeRule } from './sample-time-rule.js';

export function thresholdRule(rule: Rule, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  const { window } = rule;
  return sampleTimeRule(rule, options, {
    bound: rule.threshold,
    signal: window === undefined ? rawSignal : () => windowSignal(window),
  });
}
