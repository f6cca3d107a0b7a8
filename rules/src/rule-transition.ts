/** What the rule operators emit: one state change of one rule for one device. */
import type { AlertTransition, AlertValue, Severity } from '@outpost/protocol';

export interface RuleTransition {
  readonly ruleId: string;
  readonly deviceId: string;
  readonly metric: string;
  readonly state: AlertTransition;
  /**
   * The measure that decided: the sample's value (a boolean as 1/0), the window aggregate or
   * the rate per second; `null` for a string value and for absence rules.
   */
  readonly value: AlertValue;
  /**
   * Sample time of the deciding sample (threshold, rate); for absence, the arrival time of the
   * sample that ended the silence (resolved) or the scheduler time the silence was detected (firing).
   */
  readonly ts: number;
  /** Arrival time of the deciding sample; for an absence firing, the time it was detected. */
  readonly arrivedAt: number;
  /** When the operator emitted the transition (`options.now`, by default the scheduler's now). */
  readonly at: number;
  readonly severity: Severity;
  /** Decided on data that came too late (see RuleOptions.latenessMs): store it, notify no one. */
  readonly late: boolean;
}
