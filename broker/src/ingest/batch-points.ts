/**
 * Turns spooled telemetry batches into store points (ARCHITECTURE step 3). The spool holds
 * only batches the broker validated, so a record that does not decode means a bug or a
 * damaged file: it is reported, never retried forever.
 */
import type { SpoolEntry, TelemetryPoint } from '@outpost/telemetry';

export interface DecodedRecords {
  readonly points: TelemetryPoint[];
  /** Records that did not decode, with why (logged and counted by the caller). */
  readonly undecodable: { readonly seq: number; readonly deviceId: string; readonly reason: string }[];
}

interface SampleShape {
  readonly ts: unknown;
  readonly metrics: unknown;
  readonly tags?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pointOf(deviceId: string, sample: SampleShape): TelemetryPoint | string {
  if (typeof sample.ts !== 'number' || !Number.isFinite(sample.ts)) return 'a sample has no numeric ts';
  if (!isRecord(sample.metrics)) return 'a sample has no metrics object';
  const metrics: Record<string, number | boolean | string> = {};
  for (const [name, value] of Object.entries(sample.metrics)) {
    if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') return `metric ${JSON.stringify(name)} is neither number, boolean nor string`;
    metrics[name] = value;
  }
  if (sample.tags === undefined) return { deviceId, ts: sample.ts, metrics };
  if (!isRecord(sample.tags)) return 'a sample has a tags value that is not an object';
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(sample.tags)) {
    if (typeof value !== 'string') return `tag ${JSON.stringify(name)} is not a string`;
    tags[name] = value;
  }
  return { deviceId, ts: sample.ts, metrics, tags };
}

export function pointsOf(entries: readonly SpoolEntry[]): DecodedRecords {
  const points: TelemetryPoint[] = [];
  const undecodable: DecodedRecords['undecodable'] = [];
  for (const entry of entries) {
    let batch: unknown;
    try {
      batch = JSON.parse(entry.payload.toString('utf8'));
    } catch (error) {
      undecodable.push({ seq: entry.seq, deviceId: entry.deviceId, reason: `not JSON: ${(error as Error).message}` });
      continue;
    }
    const samples = isRecord(batch) ? batch['samples'] : undefined;
    if (!Array.isArray(samples)) {
      undecodable.push({ seq: entry.seq, deviceId: entry.deviceId, reason: 'no samples array' });
      continue;
    }
    const recordPoints: TelemetryPoint[] = [];
    let failure: string | undefined;
    for (const sample of samples) {
      const point = isRecord(sample) ? pointOf(entry.deviceId, sample as unknown as SampleShape) : 'a sample is not an object';
      if (typeof point === 'string') {
        failure = point;
        break;
      }
      recordPoints.push(point);
    }
    if (failure === undefined) points.push(...recordPoints);
    else undecodable.push({ seq: entry.seq, deviceId: entry.deviceId, reason: failure });
  }
  return { points, undecodable };
}
