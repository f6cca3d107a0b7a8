/**
 * Turns a write's points into line-protocol bodies, and refuses (as dead letters) the points
 * that must not leave: bad names or values (pointProblem), what line protocol cannot carry
 * (lineProblem), and a metric typed unlike its known type (fixed in InfluxDB, or earlier in this
 * batch) — InfluxDB would refuse that line anyway.
 *
 * What it returns outlives the points on purpose (issue 12): a write waits on InfluxDB for
 * milliseconds, and whatever it holds meanwhile is copied by every scavenge. So the points (and
 * the parsed batches behind them) are let go here; a write keeps one flat string per body, the
 * end of each line in it, and each line's device and time — enough for the bisection of a
 * refused body, the dead letters and the rollup's late minutes.
 */
import { kindOf, pointProblem } from '../store/point-checks.js';
import type { MetricKind, TelemetryPoint } from '../store/telemetry-store.js';
import type { DeadLetter } from './dead-letters.js';
import { lineProblem, seriesKeyOf, toLine } from './influx-line.js';

/** Up to `batchLines` lines joined by newlines. */
export interface LineBody {
  readonly text: string;
  /** The batch-wide index of the body's first line. */
  readonly first: number;
  /** Where each line ends in `text` (exclusive); line i starts at `ends[i - 1] + 1`, line 0 at 0. */
  readonly ends: readonly number[];
}

/** Each sent line's device and time (by batch-wide line index). */
export interface LineKeys {
  readonly deviceIds: readonly string[];
  readonly ts: readonly number[];
}

export interface EncodedBatch {
  readonly bodies: readonly LineBody[];
  readonly keys: LineKeys;
  /** Metrics this batch writes first (not in the known kinds), with the kind of their first line. */
  readonly newKinds: ReadonlyMap<string, MetricKind>;
  readonly refused: DeadLetter[];
}

/** The text of lines [start, end) of `body` (indexes relative to the body); the body's own text when that is all of it. */
export function textOf(body: LineBody, start: number, end: number): string {
  if (start === 0 && end === body.ends.length) return body.text;
  return body.text.slice(start === 0 ? 0 : (body.ends[start - 1] ?? 0) + 1, body.ends[end - 1]);
}

/**
 * `validated`: the points passed protocol's checks at the broker (the store's point checks are skipped).
 * `batchLines`: most lines per body. `tally`: hears every point that goes out, with its series key (the rollup's minute tallies).
 */
export function encodeBatch(
  points: readonly TelemetryPoint[],
  kinds: ReadonlyMap<string, MetricKind>,
  at: number,
  validated: boolean,
  batchLines: number,
  tally?: (key: string, point: TelemetryPoint) => void,
): EncodedBatch {
  const newKinds = new Map<string, MetricKind>();
  const bodies: LineBody[] = [];
  const deviceIds: string[] = [];
  const ts: number[] = [];
  const refused: DeadLetter[] = [];
  const size = Math.max(1, batchLines);
  let lines: string[] = [];
  let ends: number[] = [];
  let length = 0;
  const close = (): void => {
    if (lines.length === 0) return;
    bodies.push({ text: lines.join('\n'), first: deviceIds.length - lines.length, ends });
    lines = [];
    ends = [];
    length = 0;
  };
  let key = '';
  let keyDevice: string | undefined;
  let keyTags: TelemetryPoint['tags'];
  for (const point of points) {
    const problem = (validated ? undefined : pointProblem(point)) ?? lineProblem(point) ?? typeProblem(point, kinds, newKinds);
    if (problem !== undefined) {
      refused.push({ at, reason: problem, deviceId: String(point.deviceId), ts: point.ts, point });
      continue;
    }
    for (const metric in point.metrics) {
      const value = point.metrics[metric];
      if (value !== undefined && !kinds.has(metric) && !newKinds.has(metric)) newKinds.set(metric, kindOf(value));
    }
    // Consecutive points of one record share a device and tags: their key is built once (and
    // hashed once by the tallies' map).
    if (point.deviceId !== keyDevice || point.tags !== keyTags) {
      key = seriesKeyOf(point.deviceId, point.tags);
      keyDevice = point.deviceId;
      keyTags = point.tags;
    }
    tally?.(key, point);
    const line = toLine(point, key);
    length += (lines.length === 0 ? 0 : 1) + line.length;
    lines.push(line);
    ends.push(length);
    deviceIds.push(point.deviceId);
    ts.push(point.ts);
    if (lines.length >= size) close();
  }
  close();
  return { bodies, keys: { deviceIds, ts }, newKinds, refused };
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
