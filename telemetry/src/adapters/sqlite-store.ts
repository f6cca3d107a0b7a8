/**
 * The embedded TelemetryStore: SQLite through better-sqlite3 in a file of its own (WAL), for
 * installations without InfluxDB. Schema and the reasons for it: sqlite-schema.ts.
 *
 * A `write` is one transaction: points are checked (bad names, a type other than the metric's
 * fixed type → the whole point goes to the dead-letter file, as InfluxDB refuses a whole line),
 * the rest is inserted with replace-on-conflict (a replay changes nothing; multi-row statements
 * of up to 128 rows, see RowWriter), the touched minutes
 * of the rollup are marked for recompute (done about once a second and before every query)
 * and the `latest` catalog moves forward. A failing SQLite (disk
 * full, I/O error, closed) makes `write` reject with TELEMETRY_STORE_UNAVAILABLE.
 *
 * Queries aggregate in SQL over `(ts / every) * every` buckets: from the minute rollup for the
 * whole minutes of the window when `everyMs` is a multiple of a minute (or at least 2 minutes:
 * then minutes a bucket boundary cuts are read raw), from `samples` for the rest, merged per bucket. Retention deletes whole minutes older than `retentionDays` on a timer.
 */
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  bucketOf,
  checkBucketQuery,
  checkDeviceId,
  checkDeviceList,
  checkFnForKind,
  checkMetric,
  checkWindow,
  kindOf,
  pointProblem,
  rawLimitOf,
} from '../store/point-checks.js';
import { storeUnavailable } from '../store/store-errors.js';
import type {
  FleetQuery,
  LatestValue,
  MetricInfo,
  MetricKind,
  RangeQuery,
  RawPoint,
  RawQuery,
  SeriesPoint,
  TelemetryPoint,
  TelemetryStore,
  TelemetryStoreStats,
  WriteOptions,
  WriteResult,
} from '../store/telemetry-store.js';
import { openDeadLetterFile, type DeadLetter, type DeadLetterFile } from './dead-letters.js';
import { decode, encode, queryBuckets, SERIES_SQL, tagsetOf, type BucketQuery, type Row, type SeriesScope } from './sqlite-buckets.js';
import { ROLLUP_MS, SCHEMA_SQL, SCHEMA_VERSION } from './sqlite-schema.js';

const DAY_MS = 86_400_000;

/** The page size of a new file (see openSqliteTelemetryStore). */
export const PAGE_SIZE = 16_384;

/** Most rows in one multi-row INSERT (× 4 parameters stays far below SQLite's 32,766). */
const MAX_ROWS = 128;

/**
 * One multi-row INSERT run over many rows: one statement execution per up to MAX_ROWS rows
 * instead of one per row (the per-run cost of better-sqlite3 and SQLite's VM was most of a
 * value's cost). Row counts are cut into powers of two, so at most log2(MAX_ROWS) + 1 statements
 * are prepared, each once, and found by index, not by SQL text.
 */
class RowWriter {
  readonly #db: Database.Database;
  readonly #width: number;
  readonly #sqlOf: (rows: string) => string;
  readonly #row: string;
  /** By log2 of the row count. */
  readonly #statements: (Database.Statement | undefined)[] = [];

  constructor(db: Database.Database, width: number, sqlOf: (rows: string) => string) {
    this.#db = db;
    this.#width = width;
    this.#sqlOf = sqlOf;
    this.#row = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  }

  /** Parameter arrays by log2 of the row count, reused (one per statement, filled per run). */
  readonly #params: (number | string)[][] = [];

  /** Inserts the first `count` values of `values` (rows of `width` parameters, flat) in their order. */
  run(values: readonly (number | string)[], count = values.length): void {
    const total = count / this.#width;
    let done = 0;
    while (done < total) {
      let log = Math.log2(MAX_ROWS);
      while (1 << log > total - done) log -= 1;
      const n = 1 << log;
      this.#statementOf(log).run(n === total && count === values.length ? values : this.#paramsOf(log, values, done * this.#width));
      done += n;
    }
  }

  #paramsOf(log: number, values: readonly (number | string)[], from: number): (number | string)[] {
    const size = (1 << log) * this.#width;
    let params = this.#params[log];
    if (params === undefined) this.#params[log] = params = new Array<number | string>(size).fill(0);
    for (let k = 0; k < size; k += 1) params[k] = values[from + k] as number | string;
    return params;
  }

  #statementOf(log: number): Database.Statement {
    let statement = this.#statements[log];
    if (statement === undefined) {
      statement = this.#db.prepare(this.#sqlOf(Array.from({ length: 1 << log }, () => this.#row).join(', ')));
      this.#statements[log] = statement;
    }
    return statement;
  }
}

/**
 * The values of one write, in batch order, in parallel arrays that are reused from write to
 * write (issue 12: the per-value arrays, objects and map entries of a write were a quarter of
 * the broker's allocation), and their order by series.
 */
class WriteValues {
  readonly series: number[] = [];
  readonly ts: number[] = [];
  readonly value: (number | string)[] = [];
  readonly device: string[] = [];
  readonly metric: string[] = [];
  size = 0;
  #keys = new Float64Array(1024);

  clear(): void {
    this.size = 0;
  }

  add(series: number, ts: number, value: number | string, device: string, metric: string): void {
    const i = this.size++;
    this.series[i] = series;
    this.ts[i] = ts;
    this.value[i] = value;
    this.device[i] = device;
    this.metric[i] = metric;
  }

  /**
   * Sorts the positions by (series, position), stable by construction: each key is
   * `series × scale + position` (exact in a double while series × scale < 2^53), sorted as
   * numbers without a comparator. Returns the k-th position in that order.
   */
  bySeries(): (k: number) => number {
    const n = this.size;
    if (this.#keys.length < n) this.#keys = new Float64Array(2 ** Math.ceil(Math.log2(n)));
    const scale = 2 ** Math.ceil(Math.log2(n + 1));
    const keys = this.#keys;
    for (let i = 0; i < n; i += 1) keys[i] = (this.series[i] as number) * scale + i;
    keys.subarray(0, n).sort();
    return (k) => (keys[k] as number) % scale;
  }
}

export interface SqliteTelemetryStoreOptions {
  /** The SQLite file (its parent directory is created); `:memory:` for a throwaway store. */
  readonly file: string;
  readonly retentionDays: number;
  readonly deadLetterFile: string;
  /** How often retention runs (default 1 h); the first run is right after open. 0 = never (call sweepRetention()). */
  readonly retentionIntervalMs?: number;
  /** How long written minutes wait before their rollup is recomputed (queries recompute first anyway); default 1 s. */
  readonly rollupFlushMs?: number;
  /** How long a write waits for another connection's lock before it fails (retryable), default 5 s. */
  readonly busyTimeoutMs?: number;
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  readonly clock?: { now(): number };
}

export interface SqliteTelemetryStore extends TelemetryStore {
  readonly kind: 'embedded';
  /** Deletes samples older than the retention now; resolves with the number of samples deleted. */
  sweepRetention(): Promise<number>;
  sync(): Promise<void>;
}

export function openSqliteTelemetryStore(options: SqliteTelemetryStoreOptions): SqliteTelemetryStore {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays <= 0) {
    throw new RangeError('retentionDays must be a positive number');
  }
  if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true });
  const db = new Database(options.file);
  try {
    // A new file gets 16 KiB pages (a file that exists keeps its size: SQLite changes it only by
    // VACUUM, and both sizes work). A write appends a few rows to each of hundreds of series,
    // dirtying one leaf per series: with 16 KiB pages there are a quarter as many leaves and
    // interior pages to copy into the WAL, and a checkpoint every 16 MiB of WAL instead of 4:
    // -30 % CPU per value for a fleet sending live data (bench telemetry-store-write.js), same
    // file size, the WAL up to 16 MiB.
    db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    db.exec(SCHEMA_SQL);
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    const version = (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value;
    if (version !== String(SCHEMA_VERSION)) {
      throw new Error(`${options.file} holds telemetry schema version ${version}; this build knows ${SCHEMA_VERSION}`);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  const store = new SqliteStore(db, options);
  store.startRetention(options.retentionIntervalMs ?? 3_600_000);
  return store;
}

class SqliteStore implements SqliteTelemetryStore {
  readonly kind = 'embedded' as const;
  readonly #db: Database.Database;
  readonly #options: SqliteTelemetryStoreOptions;
  readonly #deadLetters: DeadLetterFile;
  readonly #now: () => number;
  readonly #kinds = new Map<string, MetricKind>();
  /** Series ids by `device\u0000tagset`, then metric (one string built per point, not per value). */
  readonly #seriesIds = new Map<string, Map<string, number>>();
  readonly #statements = new Map<string, Database.Statement>();
  readonly #rowWriters: { readonly samples: RowWriter; readonly marks: RowWriter; readonly latest: RowWriter };
  #timer: NodeJS.Timeout | undefined;
  /**
   * Rollup minutes written to since their last recompute, by series: the same rows as the
   * durable `rollup_dirty` table (a minute is added here only once its mark is committed, so a
   * crash leaves every stale minute marked; the next open recomputes them).
   */
  readonly #dirty = new Map<number, Set<number>>();
  /** Whether a series holds numbers (its rollup keeps sum/min/max), by series id. */
  readonly #numeric = new Map<number, boolean>();
  #flushTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #pendingWrites = new Set<Promise<unknown>>();
  /** The values of the write in progress, by position in the batch (reused: no allocation per value). */
  readonly #values = new WriteValues();
  /** The samples rows of the write in progress, flat (reused). */
  readonly #rows: (number | string)[] = [];
  #stats = { pointsWritten: 0, batchesWritten: 0, writeErrors: 0, retries: 0, lastWriteMs: 0 };

  constructor(db: Database.Database, options: SqliteTelemetryStoreOptions) {
    this.#db = db;
    this.#options = options;
    this.#deadLetters = openDeadLetterFile(options.deadLetterFile);
    this.#rowWriters = {
      samples: new RowWriter(db, 3, (rows) => `INSERT OR REPLACE INTO samples (series, ts, value) VALUES ${rows}`),
      marks: new RowWriter(db, 2, (rows) => `INSERT OR IGNORE INTO rollup_dirty (series, bucket) VALUES ${rows}`),
      latest: new RowWriter(
        db,
        4,
        (rows) => `INSERT INTO latest (device, metric, ts, value) VALUES ${rows}
                   ON CONFLICT (device, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest.ts`,
      ),
    };
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : () => Date.now();
    this.#loadKinds();
    // Minutes a crash left marked: recomputed now (or, if that fails, by the first flush or query).
    for (const row of db.prepare('SELECT series, bucket FROM rollup_dirty').all() as { series: number; bucket: number }[]) this.#remember(new Map([[row.series, new Set([row.bucket])]]));
    try {
      this.#flushRollups();
    } catch (error) {
      options.log?.error({ err: (error as Error).message }, 'telemetry rollup recompute at open failed; retried on the next write or query');
    }
  }

  #remember(marks: Map<number, Set<number>>): void {
    for (const [series, buckets] of marks) {
      const known = this.#dirty.get(series);
      if (known === undefined) this.#dirty.set(series, buckets);
      else for (const bucket of buckets) known.add(bucket);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#dirty.size === 0) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      if (this.#closed !== undefined) return;
      try {
        this.#flushRollups();
      } catch (error) {
        // The marks stay (table and memory): the next flush or query retries.
        this.#options.log?.error({ err: (error as Error).message }, 'telemetry rollup recompute failed; retried on the next write or query');
      }
      this.#scheduleFlush();
    }, this.#options.rollupFlushMs ?? 1_000);
    this.#flushTimer.unref();
  }

  /**
   * Recomputes every dirty minute of the rollup from \`samples\` in one transaction and clears
   * the marks. A minute whose samples are gone (retention) is left out, not written empty.
   */
  #flushRollups(): void {
    if (this.#dirty.size === 0) return;
    const rollup = this.#statement(
      `INSERT OR REPLACE INTO rollup_1m (series, bucket, n, total, lo, hi, last_ts, last_value)
       SELECT @series, @bucket, count(*),
              CASE WHEN @numeric THEN sum(value) END, CASE WHEN @numeric THEN min(value) END, CASE WHEN @numeric THEN max(value) END,
              max(ts),
              (SELECT value FROM samples WHERE series = @series AND ts >= @bucket AND ts < @end ORDER BY ts DESC LIMIT 1)
       FROM samples WHERE series = @series AND ts >= @bucket AND ts < @end
       HAVING count(*) > 0`,
    );
    const kindOfSeries = this.#statement('SELECT k.kind FROM series s JOIN metric_kinds k ON k.metric = s.metric WHERE s.id = ?').pluck();
    const clear = this.#statement('DELETE FROM rollup_dirty');
    this.#db.transaction(() => {
      for (const [series, buckets] of this.#dirty) {
        let numeric = this.#numeric.get(series);
        if (numeric === undefined) {
          numeric = kindOfSeries.get(series) === 'number';
          this.#numeric.set(series, numeric);
        }
        for (const bucket of buckets) rollup.run({ series, bucket, end: bucket + ROLLUP_MS, numeric: numeric ? 1 : 0 });
      }
      clear.run();
    })();
    this.#dirty.clear();
  }

  startRetention(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const run = (): void => {
      this.sweepRetention().catch((error: unknown) =>
        this.#options.log?.error({ err: (error as Error).message }, 'telemetry retention sweep failed'),
      );
    };
    this.#timer = setInterval(run, intervalMs);
    this.#timer.unref();
    setImmediate(run).unref();
  }

  write(points: readonly TelemetryPoint[], options: WriteOptions = {}): Promise<WriteResult> {
    if (this.#closed !== undefined) return Promise.reject(storeUnavailable('the embedded telemetry store is closed'));
    const pending = this.#write(points, options.validated === true);
    this.#pendingWrites.add(pending);
    const forget = (): void => {
      this.#pendingWrites.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  async #write(points: readonly TelemetryPoint[], validated: boolean): Promise<WriteResult> {
    const at = this.#now();
    const letters: DeadLetter[] = [];
    let written = 0;
    // Minutes marked dirty by this write: known to be in rollup_dirty only once it commits.
    const marks = new Map<number, Set<number>>();
    try {
      written = this.#db.transaction(() => this.#insert(points, letters, at, validated, marks))();
      this.#remember(marks);
      this.#scheduleFlush();
    } catch (error) {
      // A rolled-back transaction may have left ids and kinds in the caches that are not in the file.
      this.#seriesIds.clear();
      this.#numeric.clear();
      this.#loadKinds();
      this.#stats.writeErrors += 1;
      throw storeUnavailable(`embedded telemetry store write failed: ${(error as Error).message}`, error);
    }
    this.#stats.pointsWritten += written;
    this.#stats.batchesWritten += 1;
    this.#stats.lastWriteMs = at;
    if (letters.length > 0) {
      this.#options.log?.warn(
        { deadLettered: letters.length, file: this.#deadLetters.path, first: letters[0]?.reason },
        'telemetry points refused for good; appended to the dead-letter file',
      );
      try {
        await this.#deadLetters.append(letters);
      } catch (error) {
        // The good points are stored; a retry writes them again (idempotent) and the letters too.
        this.#stats.writeErrors += 1;
        throw storeUnavailable(`cannot append to the dead-letter file ${this.#deadLetters.path}: ${(error as Error).message}`, error);
      }
    }
    return { written, deadLettered: letters.length };
  }

  #insert(points: readonly TelemetryPoint[], letters: DeadLetter[], at: number, validated: boolean, marks: Map<number, Set<number>>): number {
    const values = this.#values;
    values.clear();
    let written = 0;
    for (const point of points) {
      const problem = (validated ? undefined : pointProblem(point)) ?? this.#typeProblem(point);
      if (problem !== undefined) {
        letters.push({ at, reason: problem, deviceId: String(point.deviceId), ts: point.ts, point });
        continue;
      }
      const tagset = tagsetOf(point.tags);
      const seriesOfPoint = this.#seriesOf(point.deviceId, tagset);
      for (const metric in point.metrics) {
        const value = point.metrics[metric];
        if (value === undefined) continue;
        if (!this.#kinds.has(metric)) {
          const kind = kindOf(value);
          this.#statement('INSERT OR IGNORE INTO metric_kinds (metric, kind) VALUES (?, ?)').run(metric, kind);
          this.#kinds.set(metric, kind);
        }
        const series = seriesOfPoint.get(metric) ?? this.#newSeriesId(seriesOfPoint, point.deviceId, metric, tagset);
        values.add(series, point.ts, encode(value), point.deviceId, metric);
      }
      written += 1;
    }
    // Series after series (ascending id: consecutive rows land in the same leaf of the
    // (series, ts) key instead of hopping between a device's metrics); within a series in batch
    // order, so the later of two values of one series and ts replaces the earlier.
    const order = values.bySeries();
    const rows = this.#rows;
    let count = 0;
    // The touched minutes are marked, not recomputed: a minute of a 1 Hz series is touched by
    // every write for a whole minute; #flushRollups recomputes it once (see #dirty).
    const marked: number[] = [];
    /** Per series the position of its newest value (ties: the later), in batch order below. */
    const newest: number[] = [];
    let current = -1;
    let newestAt = -1;
    let minute = Number.NaN;
    let known: Set<number> | undefined;
    for (let k = 0; k < values.size; k += 1) {
      const i = order(k);
      const series = values.series[i] as number;
      const ts = values.ts[i] as number;
      if (series !== current) {
        if (newestAt >= 0) newest.push(newestAt);
        current = series;
        newestAt = i;
        minute = Number.NaN;
        known = this.#dirty.get(series);
      } else if (ts >= (values.ts[newestAt] as number)) newestAt = i;
      rows[count++] = series;
      rows[count++] = ts;
      rows[count++] = values.value[i] as number | string;
      const bucket = bucketOf(ts, ROLLUP_MS);
      if (bucket === minute) continue;
      minute = bucket;
      if (known?.has(bucket) === true) continue;
      let ofSeries = marks.get(series);
      if (ofSeries === undefined) marks.set(series, (ofSeries = new Set()));
      else if (ofSeries.has(bucket)) continue;
      ofSeries.add(bucket);
      marked.push(series, bucket);
    }
    if (newestAt >= 0) newest.push(newestAt);
    this.#rowWriters.samples.run(rows, count);
    this.#rowWriters.marks.run(marked);
    // Newest per (device, metric): one row per series, in batch order, so when two series of a
    // device's metric (other tag sets) hold the same time the upsert keeps the later one.
    newest.sort((a, b) => a - b);
    const latest: (number | string)[] = [];
    for (const i of newest) latest.push(values.device[i] as string, values.metric[i] as string, values.ts[i] as number, values.value[i] as number | string);
    this.#rowWriters.latest.run(latest);
    return written;
  }

  /** A metric of the point typed unlike the metric's fixed type (stored, or fixed earlier in this batch). */
  #typeProblem(point: TelemetryPoint): string | undefined {
    for (const metric in point.metrics) {
      const value = point.metrics[metric];
      if (value === undefined) continue;
      const fixed = this.#kinds.get(metric);
      const kind = kindOf(value);
      if (fixed !== undefined && fixed !== kind) {
        return `TYPE_CONFLICT: metric ${metric} is stored as ${fixed}; this value is a ${kind}`;
      }
    }
    return undefined;
  }

  /** The cached series ids of one device and tag set, by metric. */
  #seriesOf(device: string, tagset: string): Map<string, number> {
    const key = `${device}\u0000${tagset}`;
    let ids = this.#seriesIds.get(key);
    if (ids === undefined) this.#seriesIds.set(key, (ids = new Map()));
    return ids;
  }

  #newSeriesId(ids: Map<string, number>, device: string, metric: string, tagset: string): number {
    this.#statement('INSERT OR IGNORE INTO series (device, metric, tagset) VALUES (?, ?, ?)').run(device, metric, tagset);
    const id = this.#statement('SELECT id FROM series WHERE device = ? AND metric = ? AND tagset = ?').pluck().get(device, metric, tagset) as number;
    ids.set(metric, id);
    return id;
  }

  #loadKinds(): void {
    this.#kinds.clear();
    for (const row of this.#db.prepare('SELECT metric, kind FROM metric_kinds').all() as { metric: string; kind: MetricKind }[]) {
      this.#kinds.set(row.metric, row.kind);
    }
  }

  async range(query: RangeQuery): Promise<SeriesPoint[]> {
    checkDeviceId(query.deviceId);
    checkBucketQuery(query);
    return this.#buckets(query, 'device', { device: query.deviceId });
  }

  async fleet(query: FleetQuery): Promise<SeriesPoint[]> {
    checkDeviceList(query.deviceIds);
    checkBucketQuery(query);
    if (query.deviceIds === undefined) return this.#buckets(query, 'all', {});
    if (query.deviceIds.length === 0) return [];
    return this.#buckets(query, 'devices', { devices: JSON.stringify(query.deviceIds) });
  }

  #buckets(query: BucketQuery, scope: SeriesScope, scopeParams: Row): SeriesPoint[] {
    this.#open();
    const kind = this.#kinds.get(query.metric);
    if (kind === undefined) return [];
    checkFnForKind(query.fn, kind, query.metric);
    // The rollup is exact for every minute a query reads: dirty minutes are recomputed first.
    this.#flushRollups();
    return queryBuckets((sql) => this.#statement(sql), kind, query, scope, scopeParams);
  }

  async latest(deviceId: string): Promise<Record<string, LatestValue>> {
    checkDeviceId(deviceId);
    this.#open();
    const rows = this.#statement('SELECT metric, ts, value FROM latest WHERE device = ? ORDER BY metric').all(deviceId) as {
      metric: string;
      ts: number;
      value: number | string;
    }[];
    const out: Record<string, LatestValue> = {};
    for (const row of rows) {
      const kind = this.#kinds.get(row.metric);
      if (kind !== undefined) out[row.metric] = { ts: row.ts, value: decode(kind, row.value) };
    }
    return out;
  }

  async metrics(deviceId: string): Promise<MetricInfo[]> {
    checkDeviceId(deviceId);
    this.#open();
    const names = this.#statement('SELECT metric FROM latest WHERE device = ? ORDER BY metric').pluck().all(deviceId) as string[];
    return names.flatMap((name) => {
      const type = this.#kinds.get(name);
      return type === undefined ? [] : [{ name, type }];
    });
  }

  async raw(query: RawQuery): Promise<RawPoint[]> {
    checkMetric(query.metric);
    checkWindow(query.from, query.to);
    checkDeviceList(query.deviceIds);
    const limit = rawLimitOf(query.limit);
    this.#open();
    const kind = this.#kinds.get(query.metric);
    if (kind === undefined || query.deviceIds?.length === 0) return [];
    const scope: SeriesScope = query.deviceIds === undefined ? 'all' : 'devices';
    const sql = `SELECT s.device AS deviceId, x.ts AS ts, x.value AS value
                 FROM samples x JOIN series s ON s.id = x.series
                 WHERE x.series IN (${SERIES_SQL[scope]}) AND x.ts >= @from AND x.ts < @to
                 ORDER BY x.ts, s.device, s.tagset LIMIT @limit`;
    const rows = this.#statement(sql).all({
      metric: query.metric,
      devices: JSON.stringify(query.deviceIds ?? []),
      from: query.from,
      to: query.to,
      limit,
    }) as { deviceId: string; ts: number; value: number | string }[];
    return rows.map((row) => ({ deviceId: row.deviceId, ts: row.ts, value: decode(kind, row.value) }));
  }

  async ping(): Promise<boolean> {
    return this.#closed === undefined && this.#db.open;
  }

  stats(): TelemetryStoreStats {
    return { ...this.#stats, deadLetters: this.#deadLetters.count, inFlight: this.#pendingWrites.size };
  }

  async sweepRetention(): Promise<number> {
    if (this.#closed !== undefined) return 0;
    const cutoff = bucketOf(this.#now() - this.#options.retentionDays * DAY_MS, ROLLUP_MS);
    const ids = this.#statement('SELECT id FROM series').pluck().all() as number[];
    const deleteSamples = this.#statement('DELETE FROM samples WHERE series = ? AND ts < ?');
    const deleteRollups = this.#statement('DELETE FROM rollup_1m WHERE series = ? AND bucket < ?');
    let deleted = 0;
    // One short transaction per series, so writes interleave with a long sweep.
    for (const id of ids) {
      if (this.#closed !== undefined) break;
      deleted += this.#db.transaction(() => {
        deleteRollups.run(id, cutoff);
        return deleteSamples.run(id, cutoff).changes;
      })();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.#closed === undefined) this.#statement('DELETE FROM latest WHERE ts < ?').run(cutoff);
    if (deleted > 0) this.#options.log?.info({ deleted, cutoff }, 'telemetry retention removed old samples');
    return deleted;
  }

  /**
   * fdatasync of the WAL (off the event loop): with `synchronous = NORMAL` SQLite syncs the WAL
   * only before a checkpoint, so commits since the last one could be lost to a power cut. What
   * checkpoints moved into the main file was synced by SQLite; a missing WAL holds nothing.
   */
  async sync(): Promise<void> {
    if (this.#options.file === ':memory:' || this.#closed !== undefined) return;
    let wal: FileHandle;
    try {
      wal = await open(`${this.#options.file}-wal`, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      await wal.datasync();
    } finally {
      await wal.close();
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
      await Promise.allSettled([...this.#pendingWrites]);
      try {
        this.#flushRollups();
      } catch (error) {
        // The marks are durable: the next open recomputes those minutes.
        this.#options.log?.warn({ err: (error as Error).message }, 'telemetry rollup recompute at close failed; done at the next open');
      }
      await this.#deadLetters.flush();
      this.#db.close();
    })();
    return this.#closed;
  }

  #open(): void {
    if (this.#closed !== undefined) throw storeUnavailable('the embedded telemetry store is closed');
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** The canonical key of a tag set: sorted JSON pairs, '' without tags. */
