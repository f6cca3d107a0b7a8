// @outpost/rules: alert-rule operators (rxjs), shared by the platform's alert engine, its
// backtest and the edge agent's local rules. See README.md for the semantics.
export type { SampleValue, RuleSample } from './rule-sample.js';
export type { RuleTransition } from './rule-transition.js';
export type { RuleOptions } from './rule-options.js';
export { thresholdRule } from './operators/threshold-rule.js';
export { rateRule } from './operators/rate-rule.js';
export { absenceRule } from './operators/absence-rule.js';
export { ruleOperator } from './operators/rule-operator.js';
export { evaluateRules } from './operators/evaluate-rules.js';
export type { EvaluateRulesOptions } from './operators/evaluate-rules.js';
export { ruleChanges } from './operators/rule-changes.js';
export type { RuleChange } from './operators/rule-changes.js';
export { createWatermarks, isLate } from './domain/watermarks.js';
export type { Watermarks } from './domain/watermarks.js';
