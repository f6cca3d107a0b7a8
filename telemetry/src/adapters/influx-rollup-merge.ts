/**
 * Combines the per-bucket partial aggregates of a chart query read in segments (raw edge, rollup
 * middle, raw edge; influx-rollup-queries.ts `segmentStatements`) into one series: means from
 * summed sums and counts (a mean of means would weigh a sparse minute like a full one), counts
 * summed, min of mins, max of maxes, and for `last` the value of the latest segment holding the
 * bucket. Buckets no segment holds stay out, as InfluxDB's `fill(none)` leaves them out.
 */
import type { AggregateFn, MetricValue, SeriesPoint } from '../store/telemetry-store.js';
import type { InfluxQLResult } from './influxql.js';

interface Partial {
  a: MetricValue;
  n: number;
}

/** `results` are the segments' answers in time order. */
export function mergeSegments(fn: AggregateFn, results: readonly (InfluxQLResult | undefined)[]): SeriesPoint[] {
  const partials = new Map<number, Partial>();
  for (const result of results) {
    for (const row of result?.series[0]?.values ?? []) {
      const [ts, first, second] = row;
      if (typeof ts !== 'number' || first === null || first === undefined) continue;
      const n = fn === 'mean' ? Number(second ?? 0) : fn === 'count' ? Number(first) : 1;
      const current = partials.get(ts);
      if (current === undefined) {
        partials.set(ts, { a: first, n });
        continue;
      }
      switch (fn) {
        case 'mean':
          current.a = Number(current.a) + Number(first);
          current.n += n;
          break;
        case 'count':
          current.n += n;
          break;
        case 'min':
          if (Number(first) < Number(current.a)) current.a = first;
          break;
        case 'max':
          if (Number(first) > Number(current.a)) current.a = first;
          break;
        case 'last':
          current.a = first;
          break;
      }
    }
  }
  const points: SeriesPoint[] = [];
  for (const [ts, partial] of partials) {
    if (fn === 'mean') {
      if (partial.n > 0) points.push({ ts, value: Number(partial.a) / partial.n });
    } else {
      points.push({ ts, value: fn === 'count' ? partial.n : partial.a });
    }
  }
  return points.sort((a, b) => a.ts - b.ts);
}

/** True when the answers (asked with a series per tag set) hold at most one tag set between them. */
export function isOneSeries(results: readonly InfluxQLResult[]): boolean {
  let seen: string | undefined;
  for (const result of results) {
    if (result.series.length > 1) return false;
    const series = result.series[0];
    if (series === undefined) continue;
    // An empty value is an absent tag (one measurement may list a key the other lacks).
    const key = JSON.stringify(Object.entries(series.tags).filter(([, value]) => value !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (seen !== undefined && seen !== key) return false;
    seen = key;
  }
  return true;
}
