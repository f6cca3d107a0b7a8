/**
 * Turns spooled telemetry records into store points (ARCHITECTURE step 3). The records are the
 * batches the broker's publish hook validated, typed (telemetry-records.ts): nothing is parsed
 * or checked again here.
 */
import type { TelemetryPoint } from '../store/telemetry-store.js';
import type { TelemetryRecord } from './telemetry-records.js';

export function pointsOf(records: readonly TelemetryRecord[]): TelemetryPoint[] {
  const points: TelemetryPoint[] = [];
  for (const { deviceId, batch } of records) {
    for (const sample of batch.samples) {
      points.push(sample.tags === undefined ? { deviceId, ts: sample.ts, metrics: sample.metrics } : { deviceId, ts: sample.ts, metrics: sample.metrics, tags: sample.tags });
    }
  }
  return points;
}
