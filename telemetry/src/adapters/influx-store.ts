/**
 * The InfluxDB TelemetryStore (SPEC "InfluxDB schema", ARCHITECTURE "Storage").
 *
 * API: `auto` reads `/ping`'s X-Influxdb-Version at open: 1.x writes through the v1 transport
 * shim (`/write?db=&rp=`, u/p), 2.x/3.x/Cloud through the client's own transport to
 * `/api/v2/write` (token, org, bucket). Either way one keep-alive agent with `maxSockets`
 * sockets carries writes and queries. On 1.x a missing database is created with a default
 * retention policy of `retentionDays`; otherwise retention is InfluxDB's (the RP or bucket).
 *
 * Writes: points are checked (names, type against the known field types, what line protocol
 * cannot carry) and encoded (influx-line.ts), sent in bodies of `batchLines` lines with retries;
 * refused lines are found by bisection (influx-line-writer.ts). Refused points and lines go to
 * the dead-letter file. InfluxDB down → `write` rejects with TELEMETRY_STORE_UNAVAILABLE.
 *
 * Rollup (1.x, ADR 0008): measurements per minute, 10 minutes and hour (`telemetry_1m`,
 * `telemetry_10m`, `telemetry_1h`) kept by this adapter (influx-rollup.ts); charts whose
 * `everyMs` is whole minutes and whose range spans at least `rollup.minRangeMs` read them for
 * the rolled-up part and raw points for the edges, merged per bucket (influx-rollup-merge.ts). `last` reads it only for a device with one tag set (with several,
 * the newest point of a minute is not known from the rollup). 2.x/3.x read raw points (their
 * InfluxQL has no `SELECT … INTO`).
 *
 * Queries: InfluxQL over `/query` (on 2.x the v1 compatibility endpoint, the token sent as the
 * Basic password; the bucket needs a DBRP mapping to `db`). Field keys are per measurement in
 * InfluxDB, not per device, so `metrics()` and `latest()` ask `SELECT last(*) … WHERE device = $d`
 * and read the columns that are not null (the device's fields within retention), then one
 * `SELECT last("m")` per field for each field's own time.
 */
import { OutpostError } from '@outpost/protocol';
import {
  checkBucketQuery,
  checkDeviceId,
  checkDeviceList,
  checkFnForKind,
  checkMetric,
  checkWindow,
  kindOf,
  rawLimitOf,
} from '../store/point-checks.js';
import { storeUnavailable, TELEMETRY_STORE_UNAVAILABLE } from '../store/store-errors.js';
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
import { createInfluxConnection, type InfluxConnection } from './influx-connection.js';
import { encodeBatch, textOf, type EncodedBatch } from './influx-batch.js';
import { writeLines } from './influx-line-writer.js';
import { apiOfVersion, pingInflux } from './influx-ping.js';
import { InfluxRollup, type InfluxRollupOptions, type RollupStatus } from './influx-rollup.js';
import type { TallyWrite } from './influx-rollup-tally.js';
import { isOneSeries, mergeSegments } from './influx-rollup-merge.js';
import { segmentStatements } from './influx-rollup-queries.js';
import { bucketStatement, fieldKeysStatement, lastOfAllStatement, lastOfEachStatement, rawStatement, type Statement } from './influx-queries.js';
import { escapeIdentifier, InfluxQLError, queryInfluxQL, type InfluxQLOptions, type InfluxQLResult } from './influxql.js';

export interface InfluxTelemetryStoreOptions {
  readonly url: string;
  readonly api: 'auto' | 'v1' | 'v2';
  readonly token?: string;
  readonly org?: string;
  readonly bucket?: string;
  readonly db: string;
  readonly rp?: string;
  readonly username?: string;
  readonly password?: string;
  readonly retentionDays: number;
  readonly deadLetterFile: string;
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  readonly clock?: { now(): number };
  /** Most parallel sockets (default 4). */
  readonly maxSockets?: number;
  /** Deadline of one request (default 10 s). */
  readonly timeoutMs?: number;
  /** Lines per write body (default 5,000). */
  readonly batchLines?: number;
  /** Retries of one body on 5xx/network errors before `write` rejects (default 2), and their backoff (100 ms → 1 s). */
  readonly maxRetries?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** 1.x: create `db` when it is missing (default true). */
  readonly createDatabase?: boolean;
  /** 1.x: the 1-minute rollup for long-range charts (default on, with its defaults); `false` = charts read raw points only. */
  readonly rollup?: InfluxRollupOptions | false;
}

export interface InfluxTelemetryStore extends TelemetryStore {
  readonly kind: 'influxdb-v1' | 'influxdb-v2';
  /** Resolves once the rollup holds the late points of every write confirmed so far (see sync below). */
  sync(): Promise<void>;
  /** The 1-minute rollup's state; undefined when there is none (2.x/3.x, or turned off). */
  rollupStatus(): RollupStatus | undefined;
}


/** latest() first reads this far back. */
const LATEST_RECENT_MS = 3_600_000;

const FIELD_KINDS: Readonly<Record<string, MetricKind>> = { float: 'number', integer: 'number', unsigned: 'number', boolean: 'boolean', string: 'string' };

export async function openInfluxTelemetryStore(options: InfluxTelemetryStoreOptions): Promise<InfluxTelemetryStore> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let api = options.api;
  if (api === 'auto') {
    let version: string;
    try {
      const answer = await pingInflux(options.url, undefined, timeoutMs);
      if (answer.status < 200 || answer.status >= 300) throw new Error(`/ping answered HTTP ${answer.status}`);
      version = answer.version;
    } catch (error) {
      throw storeUnavailable(
        `InfluxDB at ${options.url} does not answer /ping, so its API cannot be detected (${(error as Error).message}); set the API (v1 or v2) to start without it`,
        error,
      );
    }
    api = apiOfVersion(version);
    options.log?.info({ url: options.url, version, api }, 'InfluxDB detected');
  }
  const store = new InfluxStore(options, api);
  try {
    await store.connect();
  } catch (error) {
    // Down now is fine: writes reject (the caller keeps the data) and connect again later.
    options.log?.warn({ url: options.url, err: (error as Error).message }, 'InfluxDB is not reachable yet; telemetry writes will be retried');
  }
  return store;
}

class InfluxStore implements InfluxTelemetryStore {
  readonly kind: 'influxdb-v1' | 'influxdb-v2';
  readonly #options: InfluxTelemetryStoreOptions;
  readonly #api: 'v1' | 'v2';
  readonly #deadLetters: DeadLetterFile;
  readonly #now: () => number;
  readonly #kinds = new Map<string, MetricKind>();
  readonly #connection: InfluxConnection;
  readonly #rollup: InfluxRollup | undefined;
  #prepared: Promise<void> | undefined;
  readonly #pending = new Set<Promise<unknown>>();
  #closed: Promise<void> | undefined;
  #stats = { pointsWritten: 0, batchesWritten: 0, writeErrors: 0, retries: 0, lastWriteMs: 0 };

  constructor(options: InfluxTelemetryStoreOptions, api: 'v1' | 'v2') {
    this.#options = options;
    this.#api = api;
    this.kind = api === 'v1' ? 'influxdb-v1' : 'influxdb-v2';
    this.#deadLetters = openDeadLetterFile(options.deadLetterFile);
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : () => Date.now();
    this.#connection = createInfluxConnection(options, api);
    this.#rollup =
      api === 'v1' && options.rollup !== false
        ? new InfluxRollup(
            {
              target: { db: options.db, ...(options.rp === undefined ? {} : { rp: options.rp }) },
              query: (statement) => this.#query(statement),
              post: (body) => this.#post(body),
              writesInFlight: () => Promise.allSettled([...this.#pending]),
              now: this.#now,
              ...(options.log === undefined ? {} : { log: options.log }),
            },
            options.rollup,
          )
        : undefined;
  }

  /** Creates the database (1.x) and loads the field types once; again after a failure. */
  connect(): Promise<void> {
    this.#prepared ??= this.#prepare().catch((error: unknown) => {
      this.#prepared = undefined;
      throw error;
    });
    return this.#prepared;
  }

  async #prepare(): Promise<void> {
    const o = this.#options;
    // Only InfluxDB being unreachable fails the preparation (writes reject, the caller retries).
    // A refusal (no admin rights to create the database, no DBRP mapping for queries on 2.x) is
    // logged: writes can still succeed, and queries report their own error.
    const tolerate = (step: string) => (error: unknown) => {
      if (error instanceof OutpostError && error.code === TELEMETRY_STORE_UNAVAILABLE) throw error;
      o.log?.error({ err: (error as Error).message, db: o.db }, `InfluxDB: ${step} failed; continuing without it`);
    };
    if (this.#api === 'v1' && o.createDatabase !== false) await this.#createDatabase().catch(tolerate('creating the database'));
    await this.#loadKinds().catch(tolerate('reading the field types (SHOW FIELD KEYS)'));
    if (this.#rollup !== undefined) {
      await this.#rollup.load();
      this.#rollup.start();
    }
  }

  async #createDatabase(): Promise<void> {
    const o = this.#options;
    const [databases] = await this.#query({ query: 'SHOW DATABASES', params: {} }, true);
    const names = (databases?.series[0]?.values ?? []).map((row) => row[0]);
    if (names.includes(o.db)) return;
    const hours = Math.max(1, Math.round(o.retentionDays * 24));
    await this.#query({ query: `CREATE DATABASE ${escapeIdentifier(o.db)} WITH DURATION ${hours}h`, params: {} }, true);
    o.log?.info({ db: o.db, retentionHours: hours }, 'InfluxDB database created');
  }

  async #loadKinds(): Promise<void> {
    const [result] = await this.#query(fieldKeysStatement());
    for (const row of result?.series[0]?.values ?? []) {
      const [name, type] = row;
      const kind = typeof type === 'string' ? FIELD_KINDS[type] : undefined;
      if (typeof name === 'string' && kind !== undefined && !this.#kinds.has(name)) this.#kinds.set(name, kind);
    }
  }

  async #kindOf(metric: string): Promise<MetricKind | undefined> {
    await this.connect();
    if (!this.#kinds.has(metric)) await this.#loadKinds();
    return this.#kinds.get(metric);
  }

  write(points: readonly TelemetryPoint[], options: WriteOptions = {}): Promise<WriteResult> {
    if (this.#closed !== undefined) return Promise.reject(storeUnavailable('the InfluxDB telemetry store is closed'));
    const pending = this.#write(points, options.validated === true);
    this.#pending.add(pending);
    const forget = (): void => {
      this.#pending.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  async #write(points: readonly TelemetryPoint[], validated: boolean): Promise<WriteResult> {
    const at = this.#now();
    try {
      await this.connect();
    } catch (error) {
      this.#stats.writeErrors += 1;
      throw asUnavailable(error);
    }
    // The points are not held while InfluxDB answers: only their encoding is (influx-batch.ts).
    const tally = this.#rollup?.beginWrite();
    try {
      const encoded = encodeBatch(points, this.#kinds, at, validated, this.#options.batchLines ?? 5_000, tally === undefined ? undefined : (key, point) => tally.add(key, point));
      return await this.#send(encoded, at, tally);
    } finally {
      // Every write's tally ends: #send ends it once InfluxDB confirmed the write; here, unconfirmed.
      if (tally !== undefined && !tally.ended) this.#rollup?.endWrite(tally, undefined);
    }
  }

  async #send(encoded: EncodedBatch, at: number, tally: TallyWrite | undefined): Promise<WriteResult> {
    const { bodies, keys } = encoded;
    const letters: DeadLetter[] = [...encoded.refused];
    const writer = {
      post: (body: string) => this.#post(body),
      maxRetries: this.#options.maxRetries ?? 2,
      retryMinMs: this.#options.retryMinMs ?? 100,
      retryMaxMs: this.#options.retryMaxMs ?? 1_000,
      onRetry: () => {
        this.#stats.retries += 1;
      },
    };
    // Every body settles before the write does, so close() never leaves a request behind.
    const outcomes = await Promise.allSettled(bodies.map((body) => writeLines(body, writer)));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) {
      this.#stats.writeErrors += 1;
      throw asUnavailable(failed.reason);
    }
    const refused = new Set<number>();
    outcomes.forEach((outcome, b) => {
      const body = bodies[b];
      if (outcome.status !== 'fulfilled' || body === undefined) return;
      for (const line of outcome.value) {
        refused.add(line.index);
        letters.push({ at, reason: line.reason, deviceId: keys.deviceIds[line.index] ?? '', ts: keys.ts[line.index] ?? 0, line: textOf(body, line.index - body.first, line.index - body.first + 1) });
      }
    });
    // The metrics' kinds as InfluxDB fixed them (for the next batches' type checks): this batch's
    // new metrics when every line went in; after a refusal, InfluxDB's own list (a refused line's
    // metric may be known to InfluxDB with another kind, or not at all).
    if (refused.size === 0) {
      for (const [metric, kind] of encoded.newKinds) if (!this.#kinds.has(metric)) this.#kinds.set(metric, kind);
    } else if (encoded.newKinds.size > 0) {
      await this.#loadKinds().catch((error: unknown) => {
        this.#options.log?.warn({ err: (error as Error).message }, 'InfluxDB: re-reading the field types after a refused line failed; they are read again later');
      });
    }
    if (this.#rollup !== undefined) {
      if (tally !== undefined) this.#rollup.endWrite(tally, { lines: keys, refused });
      try {
        await this.#rollup.afterWrite(keys, refused);
      } catch (error) {
        this.#stats.writeErrors += 1;
        throw asUnavailable(error);
      }
    }
    const written = keys.ts.length - refused.size;
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
        this.#stats.writeErrors += 1;
        throw storeUnavailable(`cannot append to the dead-letter file ${this.#deadLetters.path}: ${(error as Error).message}`, error);
      }
    }
    return { written, deadLettered: letters.length };
  }

  async #post(body: string): Promise<void> {
    await this.#connection.transport.request(this.#connection.writePath, body, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }

  async range(query: RangeQuery): Promise<SeriesPoint[]> {
    checkDeviceId(query.deviceId);
    checkBucketQuery(query);
    return this.#buckets(query, { one: query.deviceId });
  }

  async fleet(query: FleetQuery): Promise<SeriesPoint[]> {
    checkDeviceList(query.deviceIds);
    checkBucketQuery(query);
    if (query.deviceIds?.length === 0) return [];
    return this.#buckets(query, query.deviceIds === undefined ? 'all' : { list: query.deviceIds });
  }

  async #buckets(query: RangeQuery | FleetQuery, devices: Parameters<typeof bucketStatement>[1]): Promise<SeriesPoint[]> {
    this.#open();
    const kind = await this.#kindOf(query.metric);
    if (kind === undefined) return [];
    checkFnForKind(query.fn, kind, query.metric);
    const segments = this.#rollup?.segments(query);
    if (segments !== undefined) {
      if (query.fn !== 'last') return mergeSegments(query.fn, await this.#query(segmentStatements(query, devices, segments)));
      if (devices !== 'all' && 'one' in devices) {
        // The rollup knows the newest point of a minute per tag set only: asked per tag set, its
        // answer is used when the device has one in range, else raw points answer.
        const results = await this.#query(segmentStatements(query, devices, segments, true));
        if (isOneSeries(results)) return mergeSegments(query.fn, results);
      }
    }
    const [result] = await this.#query(bucketStatement(query, devices));
    const points: SeriesPoint[] = [];
    for (const row of result?.series[0]?.values ?? []) {
      const [ts, value] = row;
      if (typeof ts === 'number' && value !== null && value !== undefined) points.push({ ts, value });
    }
    return points;
  }

  rollupStatus(): RollupStatus | undefined {
    return this.#rollup?.status();
  }

  /**
   * Points are durable once InfluxDB answered their write; what a write may leave behind is the
   * rollup of its late points (recomputed in the background, shared by the writes of a backlog).
   * Resolves once those minutes are rolled up, so ingest moves the spool's cursor only then.
   */
  async sync(): Promise<void> {
    if (this.#rollup === undefined) return;
    try {
      await this.#rollup.settle();
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  async latest(deviceId: string): Promise<Record<string, LatestValue>> {
    checkDeviceId(deviceId);
    this.#open();
    const fields = await this.#deviceFields(deviceId);
    const out: Record<string, LatestValue> = {};
    if (fields.length === 0) return out;
    // Most devices sent every metric lately: ask the last hour first, then all time for the rest.
    let missing = fields.map((field) => field.name);
    for (const since of [this.#now() - LATEST_RECENT_MS, undefined]) {
      const results = await this.#query(lastOfEachStatement(deviceId, missing, since));
      const found = new Set<string>();
      missing.forEach((name, index) => {
        const row = results[index]?.series[0]?.values[0];
        const ts = row?.[0];
        const value = row?.[1];
        if (typeof ts === 'number' && value !== null && value !== undefined) {
          out[name] = { ts, value };
          found.add(name);
        }
      });
      missing = missing.filter((name) => !found.has(name));
      if (missing.length === 0) break;
    }
    return out;
  }

  async metrics(deviceId: string): Promise<MetricInfo[]> {
    checkDeviceId(deviceId);
    this.#open();
    return this.#deviceFields(deviceId);
  }

  /** The device's fields: the non-null columns of `SELECT last(*)` (`last_<field>`), typed by their value. */
  async #deviceFields(deviceId: string): Promise<MetricInfo[]> {
    await this.#connectForQuery();
    const [result] = await this.#query(lastOfAllStatement(deviceId));
    const series = result?.series[0];
    const row = series?.values[0];
    if (series === undefined || row === undefined) return [];
    const fields: MetricInfo[] = [];
    series.columns.forEach((column, index) => {
      const value = row[index];
      if (!column.startsWith('last_') || value === null || value === undefined) return;
      fields.push({ name: column.slice('last_'.length), type: kindOf(value) });
    });
    return fields.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async raw(query: RawQuery): Promise<RawPoint[]> {
    checkMetric(query.metric);
    checkWindow(query.from, query.to);
    checkDeviceList(query.deviceIds);
    const limit = rawLimitOf(query.limit);
    this.#open();
    if (query.deviceIds?.length === 0) return [];
    await this.#connectForQuery();
    const [result] = await this.#query(rawStatement(query, limit));
    const series = result?.series[0];
    if (series === undefined) return [];
    const valueAt = series.columns.indexOf(query.metric);
    const deviceAt = series.columns.lastIndexOf('device');
    const points: RawPoint[] = [];
    for (const row of series.values) {
      const ts = row[0];
      const value = row[valueAt];
      const device = row[deviceAt];
      if (typeof ts === 'number' && typeof device === 'string' && value !== null && value !== undefined) points.push({ deviceId: device, ts, value });
    }
    // InfluxDB orders by time; equal times by device, as the embedded store does.
    return points.sort((a, b) => a.ts - b.ts || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  async ping(): Promise<boolean> {
    if (this.#closed !== undefined) return false;
    try {
      const answer = await pingInflux(this.#options.url, this.#connection.agent, this.#options.timeoutMs ?? 10_000);
      return answer.status >= 200 && answer.status < 300;
    } catch {
      return false;
    }
  }

  stats(): TelemetryStoreStats {
    const rollup = this.#rollup?.status();
    return { ...this.#stats, deadLetters: this.#deadLetters.count, inFlight: this.#pending.size, ...(rollup === undefined || rollup.disabled !== undefined ? {} : { rollup }) };
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#pending]);
      await this.#rollup?.close();
      await this.#deadLetters.flush();
      this.#connection.close();
    })();
    return this.#closed;
  }

  async #connectForQuery(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  #open(): void {
    if (this.#closed !== undefined) throw storeUnavailable('the InfluxDB telemetry store is closed');
  }

  /** Runs a statement; `serverWide` ones (SHOW/CREATE DATABASE) go without the default database. */
  async #query(statement: Statement, serverWide = false): Promise<InfluxQLResult[]> {
    const { db: _db, ...withoutDb } = this.#connection.query;
    const options: InfluxQLOptions = serverWide ? withoutDb : this.#connection.query;
    try {
      return await queryInfluxQL(options, statement.query, statement.params);
    } catch (error) {
      throw asQueryError(error);
    }
  }
}


function asUnavailable(error: unknown): OutpostError {
  if (error instanceof OutpostError) return error;
  return storeUnavailable(`InfluxDB is unavailable: ${(error as Error).message}`, error);
}

/** Network errors and 5xx are the store being unavailable; anything else is a failed query (500). */
function asQueryError(error: unknown): unknown {
  if (!(error instanceof InfluxQLError)) return error;
  const status = error.details.status ?? 0;
  if (error.code === 'TELEMETRY_ERR_INFLUXQL_REQUEST' || status === 0 || status >= 500 || status === 429) {
    return storeUnavailable(error.message, error, { status });
  }
  return new OutpostError('TELEMETRY_QUERY_FAILED', error.message, { cause: error, status: 500 });
}

