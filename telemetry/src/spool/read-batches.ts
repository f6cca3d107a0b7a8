import { isOutpostError } from '@outpost/protocol';
import { Observable } from 'rxjs';
import { ConsumerReader } from './consumer-reader.js';
import { spoolError } from './spool-errors.js';
import type { SpoolState } from './spool-state.js';
import type { SpoolEntry, SpoolReadOptions } from './spool-types.js';

export const DEFAULT_READ_MAX_RECORDS = 500;
export const DEFAULT_READ_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Lets the façade wait for the readers it started when it closes. */
export type ReaderTracker = (done: Promise<void>) => void;

/**
 * The batches of `consumer` after its committed cursor, then live ones. A pull loop: it reads
 * what is durable (with `written`, also what awaits its fsync), emits it, and sleeps on the
 * spool's change signal when it has caught up — no polling. It pauses while `maxUncommitted`
 * delivered records wait for the consumer's commit, so a consumer stuck on a down store holds a
 * bounded number of records in memory, not the spool.
 * Completes when the spool closes; errors (coded) when a segment cannot be read.
 */
export function readBatchesOf(
  state: SpoolState,
  consumer: string,
  options: SpoolReadOptions,
  track: ReaderTracker,
): Observable<readonly SpoolEntry[]> {
  const maxRecords = Math.max(1, Math.floor(options.maxRecords ?? DEFAULT_READ_MAX_RECORDS));
  const maxBatchBytes = Math.max(1, options.maxBatchBytes ?? DEFAULT_READ_MAX_BATCH_BYTES);
  const maxWaitMs = Math.max(0, options.maxWaitMs ?? 0);
  const maxUncommitted = Math.max(1, options.maxUncommitted ?? 4 * maxRecords);

  return new Observable<readonly SpoolEntry[]>((subscriber) => {
    if (state.closed) {
      subscriber.error(spoolError('SPOOL_CLOSED', 'the spool is closed'));
      return undefined;
    }
    let stopped = false;
    let wake: (() => void) | undefined;
    const changes = state.changes.subscribe(() => wake?.());
    const stop = (): boolean => stopped || state.closed;

    /** Resolves on the next change after `version` (at once if one already happened), or after `ms`. */
    const changed = (version: number, ms?: number): Promise<void> =>
      new Promise<void>((resolve) => {
        if (version !== state.version || stop()) {
          resolve();
          return;
        }
        const timer = ms === undefined ? undefined : setTimeout(() => done(), ms);
        const done = (): void => {
          if (timer) clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        wake = done;
      });

    const written = options.written === true;
    const reader = new ConsumerReader(state, state.requested.get(consumer) ?? 0, written);
    state.readers.set(reader, consumer);
    if (written) state.writtenReaders += 1;
    const room = (): number => maxUncommitted - (reader.delivered - (state.requested.get(consumer) ?? 0));

    const loop = async (): Promise<void> => {
      while (!stop()) {
        const version = state.version;
        const limit = Math.min(maxRecords, room());
        if (limit <= 0) {
          await changed(version);
          continue;
        }
        let batch = await reader.take(limit, maxBatchBytes, true);
        if (batch.length === 0) {
          await changed(version);
          continue;
        }
        if (batch.length < limit && maxWaitMs > 0) {
          const deadline = Date.now() + maxWaitMs;
          let bytes = batch.reduce((sum, entry) => sum + entry.payload.length, 0);
          while (!stop() && batch.length < limit && bytes < maxBatchBytes) {
            const remaining = deadline - Date.now();
            if (remaining <= 0) break;
            const seen = state.version;
            const more = await reader.take(limit - batch.length, maxBatchBytes - bytes, false);
            if (more.length > 0) {
              batch = batch.concat(more);
              bytes += more.reduce((sum, entry) => sum + entry.payload.length, 0);
            } else {
              if (reader.delivered < (written ? state.writtenSeq : state.lastSeq)) break; // the next record does not fit this batch
              await changed(seen, remaining);
            }
          }
        }
        if (stopped) break;
        subscriber.next(batch);
      }
    };

    const done = loop().then(
      () => {
        if (!stopped) subscriber.complete();
      },
      (error: unknown) => {
        if (!stopped) {
          subscriber.error(
            isOutpostError(error) ? error : spoolError('SPOOL_IO_UNAVAILABLE', `reading the spool for ${consumer} failed`, { cause: error }),
          );
        }
      },
    );
    track(
      done
        .finally(() => {
          state.readers.delete(reader);
          if (written) state.writtenReaders -= 1;
          return reader.close();
        })
        .catch(() => undefined),
    );

    return () => {
      stopped = true;
      changes.unsubscribe();
      wake?.();
    };
  });
}
