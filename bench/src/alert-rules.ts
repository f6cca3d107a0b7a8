/**
 * The rule set of the alert benches (alerts.ts, rule-evaluation.ts): `count` rules spread over
 * `metricCount` metrics — a tenth rate rules over a 30 s window, a third of the rest threshold
 * rules over a 10 s window (max or mean), the others plain thresholds with a clear band — with
 * bounds the benches' values (0–99) never cross.
 */
import type { Rule } from '@outpost/protocol';

export function benchRules(count: number, metricCount: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < count; i++) {
    const metric = `m${String(i % metricCount)}`;
    const base = { v: 1 as const, id: `r${String(i)}`, name: `rule ${String(i)}`, scope: {}, metric, forMs: 60_000, severity: 'warning' as const, cooldownMs: 0, enabled: true };
    if (i % 10 === 0) rules.push({ ...base, kind: 'rate', condition: '>', ratePerS: 1e9, window: { ms: 30_000, fn: 'mean' } });
    else if (i % 3 === 0) rules.push({ ...base, kind: 'threshold', condition: '>', threshold: 1_000 + i, window: { ms: 10_000, fn: i % 2 === 0 ? 'max' : 'mean' } });
    else rules.push({ ...base, kind: 'threshold', condition: i % 2 === 0 ? '>' : '<', threshold: i % 2 === 0 ? 1_000 + i : -1_000 - i, clearThreshold: i % 2 === 0 ? 900 : -900 });
  }
  return rules;
}
