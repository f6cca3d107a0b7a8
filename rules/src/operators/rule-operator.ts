/** The operator for a rule's kind. */
import type { Rule } from '@outpost/protocol';
import type { OperatorFunction } from 'rxjs';
import type { RuleOptions } from '../rule-options.js';
import type { RuleSample } from '../rule-sample.js';
import type { RuleTransition } from '../rule-transition.js';
import { absenceRule } from './absence-rule.js';
import { rateRule } from './rate-rule.js';
import { thresholdRule } from './threshold-rule.js';

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
