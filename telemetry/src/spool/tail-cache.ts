import type { SpoolEntry } from './spool-types.js';

/**
 * The newest durable records, in memory, for readers that keep up (issue 12): ingest and the
 * alert engine read each record right after its group commit, and reading it back from the
 * segment file (two reads through the read-ahead buffer, a CRC over the header and one over the
 * body, a UTF-8 decode of the device id) was about a tenth of the broker's CPU per message.
 *
 * The writer adds a group's records once its fsync returned, before readers are woken, so the
 * cache holds only what a reader could read from the file, byte for byte (the same buffer the
 * write took). Seqs are contiguous; a record that does not follow the last one starts the cache
 * over. Bounded by bytes (whole records), oldest out first; a reader further behind reads the
 * file, as after a restart (the cache starts empty).
 *
 * Records every consumer has been handed are released at once (`release`): a cache that held
 * the last 8 MiB regardless kept every record alive for seconds at a few thousand messages per
 * second, so each one survived the young generation and was copied into old space — the
 * largest share of the GC pauses behind the alert engine's tail latency (issue 12).
 */
export class TailCache {
  readonly #maxBytes: number;
  /** Released and evicted slots are cleared at once (undefined) so the records can be collected young. */
  #entries: (SpoolEntry | undefined)[] = [];
  /** The bytes each record holds in memory, by the same index. */
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  /** The seq after the newest record added: a reader asking for it has caught up (even with the cache emptied). */
  #next: number | undefined;
  /** Records handed to readers from memory (stats). */
  served = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** A record just made durable; `bytes` is what it holds in memory (header, device id, payload). */
  add(entry: SpoolEntry, bytes: number): void {
    if (this.#maxBytes <= 0) return;
    if (this.#next !== undefined && entry.seq !== this.#next) this.#clear();
    this.#entries.push(entry);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
    this.#next = entry.seq + 1;
    while (this.#bytes > this.#maxBytes && this.#entries.length - this.#head > 1) this.#drop();
    this.#compact();
  }

  /** Every consumer has been handed the records through `seq`: they leave memory. */
  release(seq: number): void {
    while (this.#head < this.#entries.length && (this.#entries[this.#head]?.seq ?? Number.POSITIVE_INFINITY) <= seq) this.#drop();
    this.#compact();
  }

  #drop(): void {
    this.#bytes -= this.#sizes[this.#head] ?? 0;
    this.#entries[this.#head] = undefined;
    this.#head += 1;
  }

  #compact(): void {
    if (this.#head > 64 && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  #clear(): void {
    this.#entries = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#next = undefined;
  }

  /**
   * The records from seq `from` on — up to `maxRecords`, within `maxBytes` of payload except
   * that the first always goes when `firstMayExceed` — or undefined when `from` is not in the
   * cache (older than its oldest record, or nothing was added since it started over). Empty when
   * `from` is just past the newest record, also after every record was released.
   */
  take(from: number, maxRecords: number, maxBytes: number, firstMayExceed: boolean): SpoolEntry[] | undefined {
    if (from === this.#next) return [];
    const oldest = this.#entries[this.#head];
    if (oldest === undefined || from < oldest.seq) return undefined;
    let index = this.#head + (from - oldest.seq);
    if (index > this.#entries.length) return undefined;
    const taken: SpoolEntry[] = [];
    let bytes = 0;
    for (; index < this.#entries.length && taken.length < maxRecords; index += 1) {
      const entry = this.#entries[index] as SpoolEntry;
      const mayExceed = taken.length === 0 && firstMayExceed;
      if (bytes + entry.payload.length > maxBytes && !mayExceed) break;
      taken.push(entry);
      bytes += entry.payload.length;
    }
    this.served += taken.length;
    return taken;
  }
}
