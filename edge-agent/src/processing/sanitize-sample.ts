/**
 * The last gate before a sample enters the pipeline: a metric the broker would refuse — a name
 * off protocol's rule or reserved, a number that JSON cannot carry (NaN, ±Infinity), a string
 * longer than 256 characters — is taken out and reported, so one bad value never costs its
 * whole batch (the broker refuses a batch for any bad metric in it).
 */
import { DEFAULT_LIMITS } from '@outpost/protocol';
import type { MetricValue, TelemetrySample } from '@outpost/protocol';
import { metricNameProblem } from '../collectors/metric-names.js';

export interface Sanitized {
  readonly sample: TelemetrySample | undefined;
  readonly problems: readonly string[];
}

function valueProblem(name: string, value: MetricValue): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `value of ${name} is not a finite number`;
  if (typeof value === 'string') {
    return value.length > DEFAULT_LIMITS.maxStringMetricLength ? `value of ${name} is longer than ${DEFAULT_LIMITS.maxStringMetricLength} characters` : undefined;
  }
  return typeof value === 'boolean' ? undefined : `value of ${name} is not a number, boolean or string`;
}

export function sanitizeSample(ts: number, metrics: Readonly<Record<string, MetricValue>>): Sanitized {
  const kept: Record<string, MetricValue> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(metrics)) {
    const problem = metricNameProblem(name) ?? valueProblem(name, value);
    if (problem === undefined) kept[name] = value;
    else problems.push(problem);
  }
  return { sample: Object.keys(kept).length === 0 ? undefined : { ts, metrics: kept }, problems };
}
