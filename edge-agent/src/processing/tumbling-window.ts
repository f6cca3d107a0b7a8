/**
 * Tumbling windows: every metric is aggregated over windows of `ms` aligned on the epoch
 * (`[k·ms, (k+1)·ms)`, so windows line up across devices) and one sample per window goes on,
 * stamped with the window start, when the window ends on the scheduler (even if no later sample
 * comes) or when a sample of a later window arrives. `mean`/`min`/`max` apply to numbers (a
 * boolean counts as 1/0); a string metric always takes the last value. A sample older than the
 * open window (a clock step back) joins the open window. Tags are not carried. On completion the
 * open window goes on at once.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import type { MetricValue, ProcessingWindowFn, TelemetrySample } from '@outpost/protocol';

interface Aggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: MetricValue;
  text: boolean;
}

function numeric(value: MetricValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return undefined;
}

function result(aggregate: Aggregate, fn: ProcessingWindowFn): MetricValue {
  if (fn === 'last' || aggregate.text || aggregate.count === 0) return aggregate.last;
  if (fn === 'min') return aggregate.min;
  if (fn === 'max') return aggregate.max;
  return aggregate.sum / aggregate.count;
}

export function tumblingWindow(ms: number, fn: ProcessingWindowFn, scheduler: SchedulerLike): OperatorFunction<TelemetrySample, TelemetrySample> {
  return (source) =>
    new Observable<TelemetrySample>((subscriber) => {
      let start: number | undefined;
      let aggregates = new Map<string, Aggregate>();
      let timer: Subscription | undefined;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (start === undefined) return;
        const metrics: Record<string, MetricValue> = {};
        for (const [name, aggregate] of aggregates) metrics[name] = result(aggregate, fn);
        const ts = start;
        start = undefined;
        aggregates = new Map();
        if (Object.keys(metrics).length > 0) subscriber.next({ ts, metrics });
      };

      const open = (ts: number): void => {
        start = Math.floor(ts / ms) * ms;
        const delay = Math.max(0, start + ms - scheduler.now());
        timer = scheduler.schedule(flush, delay);
      };

      const subscription = source.subscribe({
        next(sample) {
          if (start !== undefined && sample.ts >= start + ms) flush();
          if (start === undefined) open(sample.ts);
          for (const [name, value] of Object.entries(sample.metrics)) {
            let aggregate = aggregates.get(name);
            if (aggregate === undefined) {
              aggregate = { count: 0, sum: 0, min: Infinity, max: -Infinity, last: value, text: false };
              aggregates.set(name, aggregate);
            }
            aggregate.last = value;
            const number = numeric(value);
            if (number === undefined) {
              aggregate.text = true;
              continue;
            }
            aggregate.count += 1;
            aggregate.sum += number;
            aggregate.min = Math.min(aggregate.min, number);
            aggregate.max = Math.max(aggregate.max, number);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
