/**
 * Local rules: the platform's rule operators (`@outpost/rules`) run on the device over the raw
 * samples (before deadband and windows, so a rule sees every value), also while offline. The
 * device is the only device here, so rule scopes do not apply (the platform decides which rules
 * a device gets). Transitions become EdgeAlert payloads; `late` is left to the publisher, which
 * knows whether it sends after an outage.
 */
import type { EdgeAlert, Rule, TelemetrySample } from '@outpost/protocol';
import { evaluateRules } from '@outpost/rules';
import type { RuleSample } from '@outpost/rules';
import { concat, map, mergeMap, NEVER, of } from 'rxjs';
import type { OperatorFunction, SchedulerLike } from 'rxjs';

const LOCAL_DEVICE = 'local';

export function localAlerts(rules: readonly Rule[], scheduler: SchedulerLike, now: () => number): OperatorFunction<TelemetrySample, EdgeAlert> {
  return (samples$) =>
    samples$.pipe(
      mergeMap((sample) => {
        const arrivedAt = now();
        return Object.entries(sample.metrics).map(
          ([metric, value]): RuleSample => ({ deviceId: LOCAL_DEVICE, metric, value, ts: sample.ts, arrivedAt }),
        );
      }),
      evaluateRules(concat(of(rules), NEVER), { scheduler, now, latenessMs: Infinity }),
      map(
        (transition): EdgeAlert => ({
          v: 1,
          ruleId: transition.ruleId,
          state: transition.state,
          metric: transition.metric,
          value: transition.value,
          ts: transition.ts,
          severity: transition.severity,
        }),
      ),
    );
}
