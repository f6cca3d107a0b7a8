/**
 * Fleet-wide metric types (SPEC "Limits": a metric's type is fixed by its first accepted
 * value; numbers are always floats). Pure: `claim` checks a batch against the known types and
 * reserves the new ones at once, so two concurrent batches cannot fix a metric two ways.
 */
import { fail, formatPath, metricTypeOf, type Failure, type MetricType, type TelemetryBatch } from '@outpost/protocol';

const WORDS: Readonly<Record<MetricType, string>> = { float: 'a number', boolean: 'a boolean', string: 'a string' };

export type TypeClaim = { readonly ok: true; readonly fresh: readonly (readonly [string, MetricType])[] } | Failure<'TYPE_CONFLICT'>;

const NOTHING_FRESH: TypeClaim = Object.freeze({ ok: true, fresh: Object.freeze([]) });

export class MetricTypeBook {
  readonly #types = new Map<string, MetricType>();

  constructor(known: Iterable<readonly [string, MetricType]> = []) {
    for (const [name, type] of known) this.#types.set(name, type);
  }

  get size(): number {
    return this.#types.size;
  }

  typeOf(name: string): MetricType | undefined {
    return this.#types.get(name);
  }

  /** The first conflict of the batch, or the metrics it introduces (now reserved). */
  claim(batch: TelemetryBatch): TypeClaim {
    // Runs for every telemetry publish: plain loops, and no map unless the batch brings a new metric.
    let fresh: Map<string, MetricType> | undefined;
    const samples = batch.samples;
    for (let index = 0; index < samples.length; index += 1) {
      const metrics = (samples[index] as TelemetryBatch['samples'][number]).metrics;
      for (const name in metrics) {
        const value = metrics[name];
        if (value === undefined) continue;
        const type = metricTypeOf(value);
        const known = this.#types.get(name) ?? fresh?.get(name);
        if (known === undefined) (fresh ??= new Map()).set(name, type);
        else if (known !== type) {
          const path = formatPath(['samples', index, 'metrics', name]);
          return fail('TYPE_CONFLICT', `${path}: ${WORDS[type]}, but the fleet stores ${JSON.stringify(name)} as ${WORDS[known]}; a metric keeps the type of its first accepted value`, path);
        }
      }
    }
    if (fresh === undefined) return NOTHING_FRESH;
    for (const [name, type] of fresh) this.#types.set(name, type);
    return { ok: true, fresh: [...fresh] };
  }

  /** Gives back reservations whose batch was not accepted after all. */
  release(fresh: readonly (readonly [string, MetricType])[]): void {
    for (const [name, type] of fresh) if (this.#types.get(name) === type) this.#types.delete(name);
  }
}
