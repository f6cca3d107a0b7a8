/**
 * Fleet-wide metric types (SPEC "Limits": a metric's type is fixed by its first accepted
 * value; numbers are always floats). Pure: `claim` checks a batch against the known types and
 * reserves the new ones at once, so two concurrent batches cannot fix a metric two ways.
 */
import { fail, formatPath, metricTypeOf, type Failure, type MetricType, type TelemetryBatch } from '@outpost/protocol';

const WORDS: Readonly<Record<MetricType, string>> = { float: 'a number', boolean: 'a boolean', string: 'a string' };

export type TypeClaim = { readonly ok: true; readonly fresh: readonly (readonly [string, MetricType])[] } | Failure<'TYPE_CONFLICT'>;

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
    const fresh = new Map<string, MetricType>();
    for (const [index, sample] of batch.samples.entries()) {
      for (const [name, value] of Object.entries(sample.metrics)) {
        const type = metricTypeOf(value);
        const known = this.#types.get(name) ?? fresh.get(name);
        if (known === undefined) fresh.set(name, type);
        else if (known !== type) {
          const path = formatPath(['samples', index, 'metrics', name]);
          return fail('TYPE_CONFLICT', `${path}: ${WORDS[type]}, but the fleet stores ${JSON.stringify(name)} as ${WORDS[known]}; a metric keeps the type of its first accepted value`, path);
        }
      }
    }
    for (const [name, type] of fresh) this.#types.set(name, type);
    return { ok: true, fresh: [...fresh] };
  }

  /** Gives back reservations whose batch was not accepted after all. */
  release(fresh: readonly (readonly [string, MetricType])[]): void {
    for (const [name, type] of fresh) if (this.#types.get(name) === type) this.#types.delete(name);
  }
}
