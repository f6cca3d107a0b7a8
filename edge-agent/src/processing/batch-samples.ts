/**
 * Batching: samples are gathered until the batch holds `maxSamples`, or its first sample has
 * waited `maxAgeMs` on the scheduler, and never past what the broker accepts — every batch this
 * operator emits passes the broker's limits as the outbox will encode it (`{v:1, seq, samples}`):
 * - a sample with more than `maxMetrics` metrics is split into samples of the same `ts`;
 * - the encoded batch stays within `maxPayloadBytes` (a sample too large alone is split by
 *   metrics; a single metric too large for any payload is dropped and reported);
 * - one metric keeps one type within a batch (the broker refuses TYPE_CONFLICT): a sample whose
 *   metric changed type starts a new batch.
 * On completion the partial batch goes on at once.
 *
 * `batchEvents` says the same thing one sample at a time, for a consumer that makes every
 * sample durable as it comes (the agent's outbox, ADR 0006): a `sample` event for each sample
 * as it joins the open batch, a `batch` event (with the whole batch) when the batch is cut. The
 * samples of a `batch` event are exactly the `sample` events since the previous `batch` event.
 * `batchSamples` is the `batch` events alone.
 */
import { filter, map, Observable } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import type { MetricValue, TelemetrySample } from '@outpost/protocol';

export interface BatchLimits {
  readonly maxSamples: number;
  readonly maxAgeMs: number;
  readonly maxMetrics: number;
  readonly maxPayloadBytes: number;
}

/** The envelope the outbox wraps around the samples, with the longest seq there can be. */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ v: 1, seq: Number.MAX_SAFE_INTEGER, samples: [] }));

function byteSize(sample: TelemetrySample): number {
  return Buffer.byteLength(JSON.stringify(sample));
}

/** Splits a sample's metrics into samples of at most `size` metrics each. */
function chunk(sample: TelemetrySample, size: number): TelemetrySample[] {
  const entries = Object.entries(sample.metrics);
  if (entries.length <= size) return [sample];
  const parts: TelemetrySample[] = [];
  for (let at = 0; at < entries.length; at += size) parts.push({ ...sample, metrics: Object.fromEntries(entries.slice(at, at + size)) });
  return parts;
}

/** Splits a sample until each part fits `maxBytes` alone; a lone metric that does not fit is reported. */
function fit(sample: TelemetrySample, maxBytes: number, report: (problem: string) => void): TelemetrySample[] {
  if (ENVELOPE_BYTES + byteSize(sample) <= maxBytes) return [sample];
  const entries = Object.entries(sample.metrics);
  if (entries.length === 1) {
    report(`metric ${entries[0]?.[0] ?? ''} does not fit in a ${maxBytes}-byte payload; dropped`);
    return [];
  }
  const half = Math.ceil(entries.length / 2);
  return [
    ...fit({ ...sample, metrics: Object.fromEntries(entries.slice(0, half)) }, maxBytes, report),
    ...fit({ ...sample, metrics: Object.fromEntries(entries.slice(half)) }, maxBytes, report),
  ];
}

function typeOf(value: MetricValue): string {
  return typeof value;
}

export type BatchEvent =
  | { readonly kind: 'sample'; readonly sample: TelemetrySample }
  | { readonly kind: 'batch'; readonly samples: readonly TelemetrySample[] };

export function batchSamples(
  limits: BatchLimits,
  scheduler: SchedulerLike,
  report: (problem: string) => void = () => undefined,
): OperatorFunction<TelemetrySample, readonly TelemetrySample[]> {
  return (source) =>
    source.pipe(
      batchEvents(limits, scheduler, report),
      filter((event): event is Extract<BatchEvent, { kind: 'batch' }> => event.kind === 'batch'),
      map((event) => event.samples),
    );
}

export function batchEvents(
  limits: BatchLimits,
  scheduler: SchedulerLike,
  report: (problem: string) => void = () => undefined,
): OperatorFunction<TelemetrySample, BatchEvent> {
  return (source) =>
    new Observable<BatchEvent>((subscriber) => {
      let batch: TelemetrySample[] = [];
      let bytes = ENVELOPE_BYTES;
      let types = new Map<string, string>();
      let timer: Subscription | undefined;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (batch.length === 0) return;
        const full = batch;
        batch = [];
        bytes = ENVELOPE_BYTES;
        types = new Map();
        subscriber.next({ kind: 'batch', samples: full });
      };

      const conflicts = (sample: TelemetrySample): boolean =>
        Object.entries(sample.metrics).some(([name, value]) => {
          const known = types.get(name);
          return known !== undefined && known !== typeOf(value);
        });

      const add = (sample: TelemetrySample): void => {
        const size = byteSize(sample);
        const separator = batch.length === 0 ? 0 : 1;
        if (batch.length > 0 && (bytes + separator + size > limits.maxPayloadBytes || conflicts(sample))) flush();
        batch.push(sample);
        subscriber.next({ kind: 'sample', sample });
        bytes += (batch.length === 1 ? 0 : 1) + size;
        for (const [name, value] of Object.entries(sample.metrics)) types.set(name, typeOf(value));
        if (batch.length >= limits.maxSamples) flush();
        else if (batch.length === 1) timer = scheduler.schedule(flush, limits.maxAgeMs);
      };

      const subscription = source.subscribe({
        next(sample) {
          for (const part of chunk(sample, limits.maxMetrics)) for (const piece of fit(part, limits.maxPayloadBytes, report)) add(piece);
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
