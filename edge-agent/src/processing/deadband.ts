/**
 * Deadband: per listed metric, a value goes on only when it moved by at least `delta` from the
 * last value that went on (the first always does; a non-numeric value goes on when it changed).
 * Metrics without a band pass untouched; a sample left without metrics is dropped.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { MetricValue, TelemetrySample } from '@outpost/protocol';

export function deadband(bands: Readonly<Record<string, number>>): OperatorFunction<TelemetrySample, TelemetrySample> {
  return (source) =>
    new Observable<TelemetrySample>((subscriber) => {
      const lastSent = new Map<string, MetricValue>();
      return source.subscribe({
        next(sample) {
          const metrics: Record<string, MetricValue> = {};
          let kept = 0;
          for (const [name, value] of Object.entries(sample.metrics)) {
            const band = Object.hasOwn(bands, name) ? bands[name] : undefined;
            const previous = lastSent.get(name);
            const moved =
              band === undefined ||
              previous === undefined ||
              (typeof value === 'number' && typeof previous === 'number' ? Math.abs(value - previous) >= band : value !== previous);
            if (!moved) continue;
            if (band !== undefined) lastSent.set(name, value);
            metrics[name] = value;
            kept += 1;
          }
          if (kept > 0) subscriber.next({ ...sample, metrics });
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
