/**
 * Opens the TelemetryStore the configuration asks for: InfluxDB when `influx` is given (its
 * API detected from `/ping`, or forced by `api`), else the embedded SQLite store.
 */
import type { InfluxRollupOptions } from '../adapters/influx-rollup.js';
import { openInfluxTelemetryStore } from '../adapters/influx-store.js';
import { openSqliteTelemetryStore } from '../adapters/sqlite-store.js';
import type { TelemetryStore } from './telemetry-store.js';
import { openWorkerTelemetryStore } from './worker-store.js';

export interface TelemetryStoreLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface InfluxConnectionOptions {
  readonly url: string;
  /** `auto` reads `/ping`'s X-Influxdb-Version: 1.x → v1 (`/write`, db/rp, u/p), 2.x/3.x → v2 (`/api/v2/write`, token/org/bucket). */
  readonly api: 'auto' | 'v1' | 'v2';
  readonly token?: string;
  readonly org?: string;
  readonly bucket?: string;
  /** The database queries read (InfluxQL over `/query`; for 2.x a DBRP-mapped database), and 1.x writes to. */
  readonly db: string;
  readonly rp?: string;
  readonly username?: string;
  readonly password?: string;
  /** 1.x: the rollup for long-range charts (ADR 0008); `enabled: false` = off; absent fields keep their defaults. */
  readonly rollup?: InfluxRollupOptions & { readonly enabled?: boolean };
}

export interface OpenTelemetryStoreOptions {
  /** Absent = the embedded store. */
  readonly influx?: InfluxConnectionOptions;
  /** The embedded store's SQLite file (its own file beside the state database, e.g. `${dataDir}/telemetry.sqlite`). */
  readonly embeddedFile: string;
  readonly retentionDays: number;
  /** Lines/points refused for good are appended here (JSON lines), e.g. `${dataDir}/dead-letters/telemetry.jsonl`. */
  readonly deadLetterFile: string;
  readonly log?: TelemetryStoreLog;
  readonly clock?: { now(): number };
  /** InfluxDB: most parallel sockets (default 4), request timeout (default 10 s). */
  readonly maxSockets?: number;
  readonly timeoutMs?: number;
  /** Embedded: how often retention runs (default 1 h). */
  readonly retentionIntervalMs?: number;
  /**
   * `worker`: the store runs in its own thread (worker-store.ts) and ingest hands it spool
   * entries as bytes; needs real time (a `clock` is refused). Default `main`: in the caller's thread.
   */
  readonly thread?: 'main' | 'worker';
  /** `worker`: how often its thread posts the store's counters between answers (default 5 s). */
  readonly statsEveryMs?: number;
}

export async function openTelemetryStore(options: OpenTelemetryStoreOptions): Promise<TelemetryStore> {
  if (options.thread === 'worker') {
    if (options.clock !== undefined) throw new Error('a telemetry store in its own thread keeps real time: open it without a clock');
    const { log, clock: _clock, thread: _thread, ...rest } = options;
    return openWorkerTelemetryStore(rest, log);
  }
  if (options.influx === undefined) {
    const store = openSqliteTelemetryStore({
      file: options.embeddedFile,
      retentionDays: options.retentionDays,
      deadLetterFile: options.deadLetterFile,
      ...(options.retentionIntervalMs === undefined ? {} : { retentionIntervalMs: options.retentionIntervalMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    options.log?.info({ kind: store.kind, file: options.embeddedFile, retentionDays: options.retentionDays }, 'telemetry store open');
    return store;
  }
  const { rollup, ...influx } = options.influx;
  const store = await openInfluxTelemetryStore({
    ...influx,
    ...(rollup === undefined ? {} : { rollup: rollup.enabled === false ? false : rollupOptions(rollup) }),
    retentionDays: options.retentionDays,
    deadLetterFile: options.deadLetterFile,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  options.log?.info({ kind: store.kind, url: options.influx.url, db: options.influx.db }, 'telemetry store open');
  return store;
}

function rollupOptions(rollup: InfluxRollupOptions): InfluxRollupOptions {
  return {
    ...(rollup.intervalMs === undefined ? {} : { intervalMs: rollup.intervalMs }),
    ...(rollup.settleMs === undefined ? {} : { settleMs: rollup.settleMs }),
    ...(rollup.minRangeMs === undefined ? {} : { minRangeMs: rollup.minRangeMs }),
    ...(rollup.chunkMs === undefined ? {} : { chunkMs: rollup.chunkMs }),
  };
}
