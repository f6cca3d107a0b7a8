/** The operator for a rule's kind. */
import type { Rule } from '@outpost/protocol';
import type { OperatorFunction } from 'rxjs';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { absenceRule } from './absence-rule.js';
import { rateRule, rateSpec } from './rate-rule.js';
import { sampleTimeEvaluator, type SampleEvaluator } from './sample-time-rule.js';
import { thresholdRule, thresholdSpec } from './threshold-rule.js';

export function ruleOperator(rule: Rule, options: RuleOptions): OperatorFunction<RuleSample, RuleTransition> {
  switch (rule.kind) {
    case 'threshold':
      return thresholdRule(rule, options);
    case 'rate':
      return rateRule(rule, options);
    case 'absence':
      return absenceRule(rule, options);
  }
}

/**
 * The rule as a plain function of each sample, for kinds that need no timers (threshold,
 * rate); undefined for absence rules, which run as their operator. Fresh state per call.
 */
export function ruleEvaluator(rule: Rule, options: RuleOptions): SampleEvaluator | undefined {
  switch (rule.kind) {
    case 'threshold':
      return sampleTimeEvaluator(rule, options, thresholdSpec(rule));
    case 'rate':
      return sampleTimeEvaluator(rule, options, rateSpec(rule));
    case 'absence':
      return undefined;
  }
}
