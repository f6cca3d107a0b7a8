/**
 * The TelemetryStore in its own thread (ADR 0004 amendment, issue 12): the store — SQLite
 * transactions, rollups and retention, or InfluxDB line encoding and HTTP — runs in a
 * `worker_threads` Worker and this object is its stand-in in the broker's thread. Ingest hands
 * it spool entries as bytes (`writeEntries`: one transferred buffer per read, no object copied
 * field by field); the worker decodes them (trusted: the publish hook validated them) and writes
 * their points. The broker's thread is left with MQTT, validation, the spool and alerts, and a
 * second core does the storing.
 *
 * Every call is a message with an id; replies carry the store's counters, so `stats()` stays
 * synchronous. Errors cross as (code, message, details) and become the same `OutpostError`s the
 * store threw. If the thread dies, calls in flight reject with TELEMETRY_STORE_UNAVAILABLE
 * (ingest keeps the records in the spool and retries) and the next call starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import { OutpostError } from '@outpost/protocol';
import type { SpoolEntry } from '../spool/spool-types.js';
import type { OpenTelemetryStoreOptions, TelemetryStoreLog } from './open-store.js';
import { storeUnavailable } from './store-errors.js';
import type {
  EntriesWriteResult,
  FleetQuery,
  LatestValue,
  MetricInfo,
  RangeQuery,
  RawPoint,
  RawQuery,
  SeriesPoint,
  TelemetryPoint,
  TelemetryStore,
  TelemetryStoreStats,
  WriteOptions,
  WriteResult,
} from './telemetry-store.js';

/** The options the worker opens its store with: everything but the log (forwarded) and the clock (the worker's is real time). */
export type WorkerStoreOptions = Omit<OpenTelemetryStoreOptions, 'log' | 'clock' | 'thread'>;

/** A call to the store's thread. */
export type StoreCall =
  | { readonly op: 'write'; readonly points: readonly TelemetryPoint[]; readonly options: WriteOptions }
  | { readonly op: 'writeEntries'; readonly entries: PackedEntries; readonly embeddedWritePoints: number }
  | { readonly op: 'range'; readonly query: RangeQuery }
  | { readonly op: 'fleet'; readonly query: FleetQuery }
  | { readonly op: 'latest'; readonly deviceId: string }
  | { readonly op: 'metrics'; readonly deviceId: string }
  | { readonly op: 'raw'; readonly query: RawQuery }
  | { readonly op: 'ping' }
  | { readonly op: 'sync' }
  | { readonly op: 'close' };

/** Spool entries as columns and one byte buffer (transferred to the worker, not cloned). */
export interface PackedEntries {
  readonly seqs: readonly number[];
  readonly deviceIds: readonly string[];
  readonly receivedAts: readonly number[];
  /** Entry i's payload is `bytes[ends[i-1] .. ends[i])` (ends[-1] = 0). */
  readonly ends: readonly number[];
  readonly bytes: ArrayBuffer;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: unknown;
  readonly status?: number;
}

/**
 * What the worker posts: a reply to call `id`, a log line, its counters (every `statsEveryMs`, so
 * they move while no call is made: the rollup works on its own), or (once) that its store is open
 * or failed to open.
 */
export type StoreMessage =
  | { readonly type: 'stats'; readonly stats: TelemetryStoreStats }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown; readonly stats: TelemetryStoreStats }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: SerializedError; readonly stats: TelemetryStoreStats }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly data: object; readonly message: string }
  | { readonly type: 'open'; readonly kind: string; readonly stats: TelemetryStoreStats }
  | { readonly type: 'failed'; readonly error: SerializedError };

/** How often the worker posts its counters between answers (default of `statsEveryMs`). */
export const STATS_EVERY_MS = 5_000;

export function packEntries(entries: readonly SpoolEntry[]): { packed: PackedEntries; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const entry of entries) total += entry.payload.length;
  // A fresh, unpooled buffer: transferring it moves it to the worker (a pooled Buffer's
  // ArrayBuffer is shared with other Buffers and must never be transferred).
  const bytes = new Uint8Array(total);
  const seqs: number[] = [];
  const deviceIds: string[] = [];
  const receivedAts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const entry of entries) {
    bytes.set(entry.payload, at);
    at += entry.payload.length;
    seqs.push(entry.seq);
    deviceIds.push(entry.deviceId);
    receivedAts.push(entry.receivedAt);
    ends.push(at);
  }
  return { packed: { seqs, deviceIds, receivedAts, ends, bytes: bytes.buffer }, transfer: [bytes.buffer] };
}

export function unpackEntries(packed: PackedEntries): SpoolEntry[] {
  const entries: SpoolEntry[] = [];
  let start = 0;
  for (let i = 0; i < packed.seqs.length; i += 1) {
    const end = packed.ends[i] ?? start;
    entries.push({ seq: packed.seqs[i] ?? 0, deviceId: packed.deviceIds[i] ?? '', receivedAt: packed.receivedAts[i] ?? 0, payload: Buffer.from(packed.bytes, start, end - start) });
    start = end;
  }
  return entries;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof OutpostError) {
    return { name: error.name, message: error.message, code: error.code, details: error.details, ...(error.status === undefined ? {} : { status: error.status }) };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

function deserializeError(error: SerializedError): Error {
  if (error.name === 'OutpostError' && error.code !== undefined) {
    return new OutpostError(error.code, error.message, { details: error.details, ...(error.status === undefined ? {} : { status: error.status }) });
  }
  const out = new Error(error.message);
  if (error.code !== undefined) Object.assign(out, { code: error.code });
  return out;
}

const NO_STATS: TelemetryStoreStats = { pointsWritten: 0, batchesWritten: 0, writeErrors: 0, retries: 0, deadLetters: 0, inFlight: 0, lastWriteMs: 0 };

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly write: boolean;
}

function workerUrl(): URL {
  const here = new URL(import.meta.url);
  // Under vitest this module may be the TypeScript source; the worker runs the built file.
  if (here.pathname.endsWith('.ts')) return new URL(here.href.replace('/src/store/worker-store.ts', '/dist/src/store/store-worker.js'));
  return new URL('./store-worker.js', here);
}

class StoreThread {
  readonly worker: Worker;
  readonly opened: Promise<{ kind: string; stats: TelemetryStoreStats }>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #gone: Error | undefined;
  #isOpen = false;

  constructor(options: WorkerStoreOptions, log: TelemetryStoreLog | undefined, onStats: (stats: TelemetryStoreStats) => void, onExit: (thread: StoreThread) => void) {
    this.worker = new Worker(workerUrl(), { workerData: options });
    this.opened = new Promise((resolve, reject) => {
      this.worker.on('message', (message: StoreMessage) => {
        switch (message.type) {
          case 'open':
            this.#isOpen = true;
            onStats(message.stats);
            resolve({ kind: message.kind, stats: message.stats });
            return;
          case 'failed':
            reject(deserializeError(message.error));
            return;
          case 'log':
            log?.[message.level](message.data, message.message);
            return;
          case 'stats':
            onStats(message.stats);
            return;
          case 'reply': {
            onStats(message.stats);
            const pending = this.#pending.get(message.id);
            if (pending === undefined) return;
            this.#pending.delete(message.id);
            if (message.ok) pending.resolve(message.value);
            else pending.reject(deserializeError(message.error));
            return;
          }
        }
      });
      const gone = (error: Error): void => {
        if (this.#gone !== undefined) return;
        this.#gone = error;
        reject(error);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
        onExit(this);
      };
      this.worker.on('error', (error) => gone(storeUnavailable(`the telemetry store's thread failed: ${error.message}`, error)));
      this.worker.on('exit', (code) => gone(storeUnavailable(`the telemetry store's thread exited (code ${String(code)})`)));
    });
    // Callers see the rejection through `opened` or their own calls; never as an unhandled one.
    this.opened.catch(() => undefined);
  }

  /** Its store is open and it has not died: calls go out at once, in the order they are made. */
  get ready(): boolean {
    return this.#isOpen && this.#gone === undefined;
  }

  get gone(): boolean {
    return this.#gone !== undefined;
  }

  get writesInFlight(): number {
    let n = 0;
    for (const pending of this.#pending.values()) if (pending.write) n += 1;
    return n;
  }

  call(call: StoreCall, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, write: call.op === 'write' || call.op === 'writeEntries' });
      this.worker.postMessage({ id, call }, transfer);
    });
  }
}

/** Opens the store the options describe in a new worker thread; rejects as the store's own open would. */
export async function openWorkerTelemetryStore(options: WorkerStoreOptions, log?: TelemetryStoreLog): Promise<WorkerTelemetryStore> {
  const store = new WorkerTelemetryStore(options, log);
  await store.opened();
  return store;
}

export class WorkerTelemetryStore implements TelemetryStore {
  readonly #options: WorkerStoreOptions;
  readonly #log: TelemetryStoreLog | undefined;
  #thread: StoreThread;
  #kind = 'embedded';
  #stats: TelemetryStoreStats = NO_STATS;
  #closed: Promise<void> | undefined;

  constructor(options: WorkerStoreOptions, log?: TelemetryStoreLog) {
    this.#options = options;
    this.#log = log;
    this.#thread = this.#start();
  }

  get kind(): string {
    return this.#kind;
  }

  /** Resolves once the first thread's store is open. */
  async opened(): Promise<void> {
    const { kind } = await this.#thread.opened;
    this.#kind = kind;
  }

  write(points: readonly TelemetryPoint[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#call({ op: 'write', points, options }) as Promise<WriteResult>;
  }

  writeEntries(entries: readonly SpoolEntry[], embeddedWritePoints: number): Promise<EntriesWriteResult> {
    if (entries.length === 0) return Promise.resolve({ written: 0, deadLettered: 0, points: 0, unreadable: [] });
    const { packed, transfer } = packEntries(entries);
    return this.#call({ op: 'writeEntries', entries: packed, embeddedWritePoints }, transfer) as Promise<EntriesWriteResult>;
  }

  range(query: RangeQuery): Promise<SeriesPoint[]> {
    return this.#call({ op: 'range', query }) as Promise<SeriesPoint[]>;
  }

  fleet(query: FleetQuery): Promise<SeriesPoint[]> {
    return this.#call({ op: 'fleet', query }) as Promise<SeriesPoint[]>;
  }

  latest(deviceId: string): Promise<Record<string, LatestValue>> {
    return this.#call({ op: 'latest', deviceId }) as Promise<Record<string, LatestValue>>;
  }

  metrics(deviceId: string): Promise<MetricInfo[]> {
    return this.#call({ op: 'metrics', deviceId }) as Promise<MetricInfo[]>;
  }

  raw(query: RawQuery): Promise<RawPoint[]> {
    return this.#call({ op: 'raw', query }) as Promise<RawPoint[]>;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#call({ op: 'ping' })) === true;
    } catch {
      return false;
    }
  }

  async sync(): Promise<void> {
    await this.#call({ op: 'sync' });
  }

  stats(): TelemetryStoreStats {
    return { ...this.#stats, inFlight: this.#thread.writesInFlight };
  }

  /**
   * Ends the store's thread as a crash would (for fault tests): calls in flight reject with
   * TELEMETRY_STORE_UNAVAILABLE and the next call opens the store in a new thread.
   */
  async terminateThread(): Promise<void> {
    await this.#thread.worker.terminate();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        if (!this.#thread.ready) await this.#thread.opened;
        await this.#thread.call({ op: 'close' });
      } catch (error) {
        this.#log?.warn({ err: (error as Error).message }, 'telemetry store: closing its thread failed');
      } finally {
        await this.#thread.worker.terminate();
      }
    })();
    return this.#closed;
  }

  #start(): StoreThread {
    return new StoreThread(
      this.#options,
      this.#log,
      (stats) => {
        this.#stats = stats;
      },
      (thread) => {
        if (this.#closed !== undefined || thread !== this.#thread) return;
        this.#log?.error({}, "telemetry store: its thread ended unexpectedly; the next call reopens the store in a new thread (ingest keeps the records in the spool meanwhile)");
      },
    );
  }

  async #call(call: StoreCall, transfer?: ArrayBuffer[]): Promise<unknown> {
    if (this.#closed !== undefined) throw storeUnavailable('the telemetry store is closed');
    // A thread that died is replaced on the next call: its store reopens (a failed open rejects this call).
    if (this.#thread.ready) return this.#thread.call(call, transfer);
    if (this.#thread.gone) this.#thread = this.#start();
    const thread = this.#thread;
    await thread.opened;
    return thread.call(call, transfer);
  }
}
