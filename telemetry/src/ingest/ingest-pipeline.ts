/**
 * The ingest pipeline (ARCHITECTURE step 3, issue 5): reads accepted batches from the spool's
 * `ingest` cursor, writes their samples to the TelemetryStore in batches and commits the cursor
 * only once the store confirmed. A store that is down or slow makes the spool grow (bounded by
 * OUTPOST_SPOOL_MAX_BYTES; at the bound the broker withholds PUBACKs) — nothing is dropped.
 * Points the store refuses for good go to its dead-letter file (the store's job); records that
 * do not decode are logged and counted, and skipped.
 */
import { from, mergeMap, type Subscription } from 'rxjs';
import type { Spool, SpoolEntry } from '../spool/spool-types.js';
import type { TelemetryStoreLog } from '../store/open-store.js';
import type { TelemetryStore, WriteResult } from '../store/telemetry-store.js';
import { backoffMs } from './backoff.js';
import { pointsOf } from './batch-points.js';
import { writeInChunks } from './store-write.js';
import { TelemetryRecords, type TelemetryRecordsPort, type UnreadableRecord } from './telemetry-records.js';

export const INGEST_CONSUMER = 'ingest';

/** What ingest reads of the spool (the broker hands it its `ingestSpool` port). */
export type IngestSpoolReader = Pick<Spool, 'readBatches' | 'commit' | 'stats'>;

export interface IngestOptions {
  /** Most spool records (batches) per store write; default 500. */
  readonly maxRecords?: number;
  /**
   * Store writes in flight at once (each a read of up to maxRecords); default 3. The cursor
   * still moves in spool order: only past records whose writes all succeeded.
   */
  readonly concurrency?: number;
  /**
   * Most points per store write when the store writes synchronously (the embedded SQLite store
   * holds the event loop for its whole transaction): a read of 500 batches becomes several
   * transactions with the event loop free in between, so PUBACKs and alerts do not queue behind
   * one long write; default 1,000. Stores that write over the network take a read whole. A
   * store in its own thread (`writeEntries`) is handed this and chunks there.
   */
  readonly embeddedWritePoints?: number;
  /** How long a partial read waits for more records; default 20 ms. */
  readonly maxWaitMs?: number;
  /** Retry backoff after a failed store write; defaults 200 ms → 5 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** The loud "spool near full" / "store down" lines repeat at most this often; default 30 s. */
  readonly warnIntervalMs?: number;
}

export interface IngestDeps {
  readonly spool: IngestSpoolReader;
  /** The spool's records, typed and trusted (decoded once, by the publish hook); default: a private reader. */
  readonly records?: TelemetryRecordsPort;
  readonly store: TelemetryStore;
  readonly log: TelemetryStoreLog;
  readonly now: () => number;
  /** Resolves true after `ms`, false when cancelled by shutdown. */
  readonly wait: (ms: number) => Promise<boolean>;
}

export interface IngestStats {
  readonly batches: number;
  readonly records: number;
  readonly points: number;
  readonly retries: number;
  readonly undecodable: number;
  readonly deadLettered: number;
  /** Epoch ms since when writes have been failing; absent while the store is healthy. */
  readonly failingSince?: number;
  readonly lastError?: string;
}

export interface WriteObservation {
  readonly seconds: number;
  readonly points: number;
  readonly ok: boolean;
}

export class IngestPipeline {
  readonly #deps: IngestDeps;
  readonly #records: TelemetryRecordsPort;
  readonly #options: Required<IngestOptions>;
  readonly #observers: ((observation: WriteObservation) => void)[] = [];
  #subscription: Subscription | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Reads not yet committed, in spool order, with whether their write is done. */
  readonly #order: { readonly lastSeq: number; done: boolean }[] = [];
  #committing: Promise<void> = Promise.resolve();
  /** The cursor commits whose files are not written yet. */
  #persisting: Promise<void> = Promise.resolve();
  #closing = false;
  #lastWarnAt = -Infinity;
  #stats = { batches: 0, records: 0, points: 0, retries: 0, undecodable: 0, deadLettered: 0 };
  #failingSince: number | undefined;
  #lastError: string | undefined;

  constructor(deps: IngestDeps, options: IngestOptions = {}) {
    this.#deps = deps;
    this.#records = deps.records ?? new TelemetryRecords({ consumers: 1 });
    this.#options = {
      maxRecords: options.maxRecords ?? 500,
      concurrency: options.concurrency ?? 3,
      embeddedWritePoints: Math.max(1, options.embeddedWritePoints ?? 1_000),
      maxWaitMs: options.maxWaitMs ?? 20,
      retryMinMs: options.retryMinMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 5_000,
      warnIntervalMs: options.warnIntervalMs ?? 30_000,
    };
  }

  /** Called after every store write attempt (for the write-latency metric). */
  onWrite(observer: (observation: WriteObservation) => void): void {
    this.#observers.push(observer);
  }

  start(): void {
    if (this.#subscription !== undefined) return;
    this.#subscription = this.#deps.spool
      .readBatches(INGEST_CONSUMER, {
        maxRecords: this.#options.maxRecords,
        maxWaitMs: this.#options.maxWaitMs,
        maxUncommitted: this.#options.maxRecords * (this.#options.concurrency + 1),
      })
      .pipe(
        mergeMap((entries) => {
          const last = entries[entries.length - 1];
          if (last === undefined) return from([]);
          const slot = { lastSeq: last.seq, done: false };
          this.#order.push(slot);
          // The slot is free once the store confirmed: the cursor file is written meanwhile
          // (in order, by #commitDone; the reader's maxUncommitted bounds what runs ahead).
          const work = this.#ingest(entries).then((written) => {
            if (!written) return;
            slot.done = true;
            void this.#commitDone();
          });
          this.#inFlight.add(work);
          void work.finally(() => this.#inFlight.delete(work));
          return from(work);
        }, this.#options.concurrency),
      )
      .subscribe({
        error: (error: unknown) => {
          // The spool stream only errors when the spool itself failed; the spool owner's readiness says so.
          this.#lastError = (error as Error).message;
          this.#deps.log.error({ err: this.#lastError }, 'ingest: reading the spool failed; ingest stopped until restart');
        },
      });
  }

  /** `degraded` while store writes fail (the spool holds the data). */
  ready(): 'ok' | 'degraded' {
    return this.#failingSince === undefined ? 'ok' : 'degraded';
  }

  stats(): IngestStats {
    return {
      ...this.#stats,
      ...(this.#failingSince === undefined ? {} : { failingSince: this.#failingSince }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /** Stops reading; a write in progress finishes (or stops retrying) first. Uncommitted records stay in the spool. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#subscription?.unsubscribe();
    await Promise.all([...this.#inFlight]);
    await this.#committing;
    await this.#persisting;
  }

  /** Commits past the longest prefix of reads whose writes are done (one commit at a time). */
  #commitDone(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      let seq: number | undefined;
      while (this.#order[0]?.done === true) seq = this.#order.shift()?.lastSeq;
      if (seq === undefined) return;
      const failed = (error: unknown): void => {
        // A closed or failed spool, or a failed sync: the records are written again (idempotently) after a restart.
        this.#deps.log.warn({ err: (error as Error).message, seq }, 'ingest: syncing the store or committing the spool cursor failed; the records stay in the spool');
      };
      try {
        // The records leave the spool's keeping only once the store holds them durably.
        await this.#deps.store.sync?.();
      } catch (error) {
        failed(error);
        return;
      }
      // The commit counts at once (the reader's backpressure with it); the next one does not wait
      // for its cursor file, which the spool writes at most every cursorSyncMs.
      const persisted = this.#deps.spool.commit(INGEST_CONSUMER, seq).catch(failed);
      this.#persisting = Promise.all([this.#persisting, persisted]).then(() => undefined);
    });
    return this.#committing;
  }

  /** Writes the entries' points, retrying until the store confirms; false when shutdown stopped it first. */
  async #ingest(entries: readonly SpoolEntry[]): Promise<boolean> {
    const write = this.#writerOf(entries);
    for (let attempt = 0; !this.#closing; attempt += 1) {
      const started = performance.now();
      try {
        const result = await write.run();
        this.#observe({ seconds: (performance.now() - started) / 1000, points: result.points, ok: true });
        this.#stats.batches += 1;
        this.#stats.records += entries.length;
        this.#stats.points += result.written;
        this.#stats.deadLettered += result.deadLettered;
        if (this.#failingSince !== undefined) {
          this.#deps.log.info({ downMs: this.#deps.now() - this.#failingSince, retries: attempt }, 'ingest: telemetry store writes succeed again; draining the spool');
          this.#failingSince = undefined;
        }
        this.#warnIfNearFull();
        return true;
      } catch (error) {
        this.#observe({ seconds: (performance.now() - started) / 1000, points: write.points, ok: false });
        this.#lastError = (error as Error).message;
        this.#failingSince ??= this.#deps.now();
        this.#stats.retries += 1;
        const spool = this.#deps.spool.stats();
        this.#warn(
          { err: this.#lastError, code: (error as { code?: string }).code, pending: entries.length, attempt, spoolBytes: spool.bytes, spoolMaxBytes: spool.maxBytes, nearFull: spool.nearFull },
          spool.nearFull
            ? 'ingest: telemetry store write failed and the spool is NEAR ITS BOUND: at the bound, telemetry PUBACKs are withheld (agents keep their data); retrying'
            : 'ingest: telemetry store write failed; the spool keeps the data, retrying',
        );
        const delay = backoffMs(attempt, this.#options.retryMinMs, this.#options.retryMaxMs);
        if (!(await this.#deps.wait(delay))) return false;
      }
    }
    return false;
  }

  /**
   * One read's write, ready to (re)try: a store in its own thread takes the entries' bytes and
   * decodes them there; otherwise the records are decoded here (once) and their points written.
   * Undecodable entries are reported once, whichever side finds them.
   */
  #writerOf(entries: readonly SpoolEntry[]): { points: number; run(): Promise<WriteResult & { readonly points: number }> } {
    const { store } = this.#deps;
    if (store.writeEntries !== undefined) {
      const writeEntries = store.writeEntries.bind(store);
      const writer = {
        points: 0,
        // Reported on success only, and a read is written again only after a failure: once.
        run: async () => {
          const result = await writeEntries(entries, this.#options.embeddedWritePoints);
          writer.points = result.points;
          this.#reportUnreadable(result.unreadable);
          return result;
        },
      };
      return writer;
    }
    const { records, unreadable } = this.#records.recordsOf(entries);
    this.#reportUnreadable(unreadable);
    const points = pointsOf(records);
    return { points: points.length, run: async () => ({ ...(await writeInChunks(store, points, this.#options.embeddedWritePoints)), points: points.length }) };
  }

  #reportUnreadable(unreadable: readonly UnreadableRecord[]): void {
    for (const bad of unreadable) {
      this.#stats.undecodable += 1;
      this.#deps.log.error({ seq: bad.seq, deviceId: bad.deviceId, reason: bad.reason }, 'ingest: a spooled batch does not decode; skipped');
    }
  }

  #observe(observation: WriteObservation): void {
    for (const observer of this.#observers) observer(observation);
  }

  #warnIfNearFull(): void {
    const stats = this.#deps.spool.stats();
    if (!stats.nearFull) return;
    this.#warn({ bytes: stats.bytes, maxBytes: stats.maxBytes }, 'ingest spool is near its bound (OUTPOST_SPOOL_MAX_BYTES): at the bound, telemetry PUBACKs are withheld until the store catches up');
  }

  #warn(data: object, message: string): void {
    const now = this.#deps.now();
    if (now - this.#lastWarnAt < this.#options.warnIntervalMs) return;
    this.#lastWarnAt = now;
    this.#deps.log.warn(data, message);
  }
}
