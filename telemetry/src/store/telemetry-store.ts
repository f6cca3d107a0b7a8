/**
 * The `TelemetryStore` port (SPEC "Composition", ARCHITECTURE "Storage"): what the broker's
 * ingest writes through, and what query routes, rule backtests and OTA health gates read.
 * Two adapters implement it — InfluxDB (production) and embedded SQLite (default) — and one
 * contract suite (`telemetry/test/contract/`) holds both to the same behaviour.
 *
 * Conventions every adapter keeps:
 * - times are epoch milliseconds; a bucket's `ts` is its start, aligned to multiples of
 *   `everyMs` since the epoch (as InfluxQL's `GROUP BY time()` does); empty buckets are left out.
 * - numbers are stored as floats; booleans and strings are kept as they are and take part only
 *   in `last` and `count` (mean/min/max of a non-numeric metric is `TELEMETRY_QUERY_INVALID`).
 * - a point is identified by (device, tag set, metric, ts): writing it again replaces it, so a
 *   replayed batch never counts twice.
 * - names reaching a query are validated by the caller's schema *and* escaped by the adapter;
 *   user input is never spliced into a query.
 */

import type { UnreadableRecord } from '../ingest/telemetry-records.js';
import type { SpoolEntry } from '../spool/spool-types.js';

/** A stored metric value (SPEC TelemetryBatch). */
export type MetricValue = number | boolean | string;

export type AggregateFn = 'mean' | 'min' | 'max' | 'last' | 'count';

/** One sample of one device, as ingest hands it over (a TelemetryBatch sample plus its device). */
export interface TelemetryPoint {
  readonly deviceId: string;
  readonly ts: number;
  readonly metrics: Readonly<Record<string, MetricValue>>;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * What a write did. Points the store refuses for good (a 4xx from InfluxDB, a type conflict)
 * are appended to the dead-letter file and counted here — never retried forever. A store that
 * is down or slow makes `write` *reject* (a retryable error) instead: the caller keeps the data.
 */
export interface WriteResult {
  readonly written: number;
  readonly deadLettered: number;
}

export interface RangeQuery {
  readonly deviceId: string;
  readonly metric: string;
  /** Inclusive. */
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly everyMs: number;
  readonly fn: AggregateFn;
}

export interface FleetQuery {
  readonly metric: string;
  /** The devices to aggregate over (e.g. a group's members, resolved by the caller); absent = every device. */
  readonly deviceIds?: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly everyMs: number;
  readonly fn: AggregateFn;
}

export interface SeriesPoint {
  /** Bucket start. */
  readonly ts: number;
  readonly value: MetricValue;
}

export interface LatestValue {
  readonly ts: number;
  readonly value: MetricValue;
}

export type MetricKind = 'number' | 'boolean' | 'string';

export interface MetricInfo {
  readonly name: string;
  readonly type: MetricKind;
}

/**
 * Raw samples in time order (equal times by device), for rule backtests: one page of at most
 * `limit`; the next page starts at the last point's `ts` (the caller drops what it already has).
 */
export interface RawQuery {
  readonly deviceIds?: readonly string[];
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  /** Most points in one answer; default 10,000. */
  readonly limit?: number;
}

export interface RawPoint {
  readonly deviceId: string;
  readonly ts: number;
  readonly value: MetricValue;
}

/** Counters for `/metrics` (monotonic since open, except `inFlight`). */
export interface TelemetryStoreStats {
  readonly pointsWritten: number;
  readonly batchesWritten: number;
  readonly writeErrors: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly inFlight: number;
  /** Epoch ms (the store's clock) when the last successful write started; 0 before the first. */
  readonly lastWriteMs: number;
  /** InfluxDB 1.x with its rollup on (ADR 0008): how far it is, and how its minutes were made. */
  readonly rollup?: TelemetryRollupStats;
}

export interface TelemetryRollupStats {
  /** Whole minutes before this (epoch ms) are rolled up; undefined until the watermark is read. */
  readonly coveredTo: number | undefined;
  /** Late recomputes run (a backlog's writes share them). */
  readonly lateRecomputes: number;
  /** Series-minutes written from the tallies of the points written. */
  readonly talliedMinutes: number;
  /** Device-minutes recomputed from raw points although tallied (counts that differ, spoiled tallies). */
  readonly recountedMinutes: number;
  /** Device-minutes left to the recompute of a write under way into them. */
  readonly deferredMinutes: number;
}

/**
 * `validated`: the points come from batches the broker's publish hook validated against
 * protocol's schema and limits (the ingest spool's records), so the store's own point checks
 * (names, ids, values) are skipped; type conflicts with stored metrics are still refused. Every
 * other caller leaves it out and gets the store's full checks.
 */
export interface WriteOptions {
  readonly validated?: boolean;
}

/** What `writeEntries` did: the points written and refused, and the entries that did not decode (skipped). */
export interface EntriesWriteResult extends WriteResult {
  readonly points: number;
  readonly unreadable: readonly UnreadableRecord[];
}

export interface TelemetryStore {
  /** `influxdb-v1`, `influxdb-v2` or `embedded`. */
  readonly kind: string;
  write(points: readonly TelemetryPoint[], options?: WriteOptions): Promise<WriteResult>;
  range(query: RangeQuery): Promise<SeriesPoint[]>;
  fleet(query: FleetQuery): Promise<SeriesPoint[]>;
  /** The newest value of each metric the device ever sent (within retention). */
  latest(deviceId: string): Promise<Record<string, LatestValue>>;
  metrics(deviceId: string): Promise<MetricInfo[]>;
  raw(query: RawQuery): Promise<RawPoint[]>;
  /** Resolves true when the store answers now (InfluxDB `/ping`; SQLite always). */
  ping(): Promise<boolean>;
  /**
   * Makes every write confirmed so far durable against a power cut, where the store's confirmation
   * alone does not (the embedded store commits with `synchronous = NORMAL`: a killed process keeps a
   * commit, an OS crash may not). Ingest calls it before it moves the spool's cursor past the
   * records, so the spool keeps them until then. InfluxDB 1.x: the points are durable once written
   * (its WAL), and sync waits for the rollup of late points, which writes leave to the background.
   * Absent = confirmed writes are complete already.
   */
  sync?(): Promise<void>;
  /**
   * Present when the store runs in its own thread (worker-store.ts): ingest hands it the spool's
   * entries as they are (their bytes, moved, not copied object by object) and the store's thread
   * decodes them (trusted: the publish hook validated them) and writes their points, the
   * embedded store in transactions of at most `embeddedWritePoints` (ingest's option). Absent =
   * ingest decodes and calls `write`.
   */
  writeEntries?(entries: readonly SpoolEntry[], embeddedWritePoints: number): Promise<EntriesWriteResult>;
  stats(): TelemetryStoreStats;
  /** Waits for in-flight writes, then releases sockets/files; idempotent. */
  close(): Promise<void>;
}
