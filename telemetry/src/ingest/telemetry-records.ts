/**
 * Decode once (issue 12, item 2): the spool holds only batches the publish hook validated
 * (schema, limits, names, fleet metric types) — verbatim, CRC-protected — so its consumers
 * (ingest, alerts) read them as trusted, typed records and never validate them again. A
 * later limits change cannot make one consumer judge a record differently from another.
 *
 * The hook's decoded batch is remembered by seq when its append is written and handed to
 * every consumer that reads the record while it is remembered (no parse at all on the live
 * path); a record read from disk (a replay after a restart, or a consumer far behind) is
 * `JSON.parse`d once, without schema checks, and shared with the other consumers. Memory is
 * bounded by `maxBytes` of raw payload; the oldest entries go first.
 */
import type { TelemetryBatch } from '@outpost/protocol';
import type { SpoolEntry } from '../spool/spool-types.js';

/** One accepted telemetry batch as the spool's consumers see it: typed and trusted. */
export interface TelemetryRecord {
  readonly seq: number;
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly batch: TelemetryBatch;
}

/** A spooled entry that is not a telemetry batch (a damaged or foreign file): reported, never thrown. */
export interface UnreadableRecord {
  readonly seq: number;
  readonly deviceId: string;
  readonly reason: string;
}

/**
 * The spool's entries as the typed batches the publish hook validated (kernel re-exports it as
 * the broker's `telemetryRecords` port): consumers never judge a record again.
 */
export interface TelemetryRecordsPort {
  recordsOf(entries: readonly SpoolEntry[]): { readonly records: TelemetryRecord[]; readonly unreadable: UnreadableRecord[] };
}

export interface TelemetryRecordsOptions {
  /** How many consumers read each record (a remembered batch is released after that many takes; 0: remember nothing); default 2. */
  readonly consumers?: number;
  /** Most raw payload bytes remembered (decoded objects take a few times more); default 8 MiB. */
  readonly maxBytes?: number;
}

export interface TelemetryRecordStats {
  /** Batches handed over from memory (no parse). */
  readonly shared: number;
  /** Batches parsed from the spool's bytes (trusted: JSON.parse only). */
  readonly parsed: number;
  readonly rememberedBytes: number;
}

interface Remembered {
  readonly batch: TelemetryBatch;
  readonly bytes: number;
  takes: number;
}

/** The spool's decode-once records; the broker provides one as its `telemetryRecords` port. */
export class TelemetryRecords implements TelemetryRecordsPort {
  readonly #consumers: number;
  readonly #maxBytes: number;
  readonly #remembered = new Map<number, Remembered>();
  #bytes = 0;
  #shared = 0;
  #parsed = 0;

  constructor(options: TelemetryRecordsOptions = {}) {
    this.#consumers = Math.max(0, options.consumers ?? 2);
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  }

  /** The hook's validated batch, written as `seq` (`bytes`: its raw size, for the memory bound). */
  remember(seq: number, batch: TelemetryBatch, bytes: number): void {
    if (this.#consumers === 0 || this.#remembered.has(seq)) return;
    this.#remembered.set(seq, { batch, bytes, takes: 0 });
    this.#bytes += bytes;
    this.#trim();
  }

  /** The typed records of spooled entries; an entry that is not JSON (a damaged or foreign file) is reported, not thrown. */
  recordsOf(entries: readonly SpoolEntry[]): { readonly records: TelemetryRecord[]; readonly unreadable: UnreadableRecord[] } {
    const records: TelemetryRecord[] = [];
    const unreadable: UnreadableRecord[] = [];
    for (const entry of entries) {
      const batch = this.#take(entry);
      if (typeof batch === 'string') unreadable.push({ seq: entry.seq, deviceId: entry.deviceId, reason: batch });
      else records.push({ seq: entry.seq, deviceId: entry.deviceId, receivedAt: entry.receivedAt, batch });
    }
    return { records, unreadable };
  }

  stats(): TelemetryRecordStats {
    return { shared: this.#shared, parsed: this.#parsed, rememberedBytes: this.#bytes };
  }

  #take(entry: SpoolEntry): TelemetryBatch | string {
    const remembered = this.#remembered.get(entry.seq);
    if (remembered !== undefined) {
      this.#shared += 1;
      remembered.takes += 1;
      if (remembered.takes >= this.#consumers) this.#forget(entry.seq, remembered);
      return remembered.batch;
    }
    let batch: unknown;
    try {
      batch = JSON.parse(entry.payload.toString('utf8'));
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    // Trusted: the hook validated these bytes before they were appended. Only the outer shape is
    // looked at, so a foreign or damaged file cannot crash a consumer.
    if (typeof batch !== 'object' || batch === null || !Array.isArray((batch as { samples?: unknown }).samples)) return 'not a TelemetryBatch (no samples array)';
    this.#parsed += 1;
    // Shared with the other consumers only while there is room: it never pushes out batches the hook handed over.
    if (this.#consumers > 1 && this.#bytes + entry.payload.length <= this.#maxBytes) {
      this.#remembered.set(entry.seq, { batch: batch as TelemetryBatch, bytes: entry.payload.length, takes: 1 });
      this.#bytes += entry.payload.length;
    }
    return batch as TelemetryBatch;
  }

  #forget(seq: number, remembered: Remembered): void {
    this.#remembered.delete(seq);
    this.#bytes -= remembered.bytes;
  }

  #trim(): void {
    for (const [seq, remembered] of this.#remembered) {
      if (this.#bytes <= this.#maxBytes) return;
      this.#forget(seq, remembered);
    }
  }
}
