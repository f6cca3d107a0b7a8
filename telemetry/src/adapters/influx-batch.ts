/**
 * Turns a write's points into lines, and refuses (as dead letters) the points that must not
 * leave: bad names or values (pointProblem), what line protocol cannot carry (lineProblem), and
 * a metric typed unlike its known type (fixed in InfluxDB, or earlier in this batch) — InfluxDB
 * would refuse that line anyway.
 */
import { kindOf, pointProblem } from '../store/point-checks.js';
import type { MetricKind, TelemetryPoint } from '../store/telemetry-store.js';
import type { DeadLetter } from './dead-letters.js';
import { lineProblem, toLine } from './influx-line.js';

export interface EncodedBatch {
  readonly lines: string[];
  /** The point of each line, by index. */
  readonly sent: TelemetryPoint[];
  readonly refused: DeadLetter[];
}

/** `validated`: the points passed protocol's checks at the broker (the store's point checks are skipped). */
export function encodeBatch(points: readonly TelemetryPoint[], kinds: ReadonlyMap<string, MetricKind>, at: number, validated = false): EncodedBatch {
  const batchKinds = new Map<string, MetricKind>();
  const lines: string[] = [];
  const sent: TelemetryPoint[] = [];
  const refused: DeadLetter[] = [];
  for (const point of points) {
    const problem = (validated ? undefined : pointProblem(point)) ?? lineProblem(point) ?? typeProblem(point, kinds, batchKinds);
    if (problem !== undefined) {
      refused.push({ at, reason: problem, deviceId: String(point.deviceId), ts: point.ts, point });
      continue;
    }
    for (const metric in point.metrics) {
      const value = point.metrics[metric];
      if (value !== undefined && !kinds.has(metric) && !batchKinds.has(metric)) batchKinds.set(metric, kindOf(value));
    }
    lines.push(toLine(point));
    sent.push(point);
  }
  return { lines, sent, refused };
}

function typeProblem(point: TelemetryPoint, kinds: ReadonlyMap<string, MetricKind>, batchKinds: ReadonlyMap<string, MetricKind>): string | undefined {
  for (const metric in point.metrics) {
    const value = point.metrics[metric];
    if (value === undefined) continue;
    const fixed = kinds.get(metric) ?? batchKinds.get(metric);
    const kind = kindOf(value);
    if (fixed !== undefined && fixed !== kind) return `TYPE_CONFLICT: metric ${metric} is stored as ${fixed}; this value is a ${kind}`;
  }
  return undefined;
}
