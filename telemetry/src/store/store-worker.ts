/**
 * The telemetry store's thread (worker-store.ts is its stand-in in the broker's thread): opens
 * the store from `workerData`, answers calls in the order they arrive and forwards log lines.
 * Spool entries are decoded here (trusted: the publish hook validated them before they were
 * appended) and written in the chunks ingest asks for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pointsOf } from '../ingest/batch-points.js';
import { writeInChunks } from '../ingest/store-write.js';
import { TelemetryRecords } from '../ingest/telemetry-records.js';
import { openTelemetryStore, type TelemetryStoreLog } from './open-store.js';
import type { EntriesWriteResult, TelemetryStore } from './telemetry-store.js';
import { serializeError, STATS_EVERY_MS, unpackEntries, type PackedEntries, type StoreCall, type StoreMessage, type WorkerStoreOptions } from './worker-store.js';

const port = parentPort;
if (port === null) throw new Error('store-worker.js runs as a worker thread (see worker-store.ts)');
const post = (message: StoreMessage): void => port.postMessage(message);

const log: TelemetryStoreLog = {
  info: (data, message) => post({ type: 'log', level: 'info', data, message }),
  warn: (data, message) => post({ type: 'log', level: 'warn', data, message }),
  error: (data, message) => post({ type: 'log', level: 'error', data, message }),
};

const options = workerData as WorkerStoreOptions;
// One consumer, nothing remembered: every entry is parsed once, here.
const records = new TelemetryRecords({ consumers: 1 });

/**
 * Not async on purpose: the parsed batches and their points are handed to the store and not held
 * here while it writes (a held object graph is copied by every scavenge until the write is done).
 */
function writeEntries(store: TelemetryStore, entries: PackedEntries, embeddedWritePoints: number): Promise<EntriesWriteResult> {
  const { records: decoded, unreadable } = records.recordsOf(unpackEntries(entries));
  const points = pointsOf(decoded);
  const count = points.length;
  return writeInChunks(store, points, Math.max(1, embeddedWritePoints)).then((result) => ({ ...result, points: count, unreadable }));
}

async function answer(store: TelemetryStore, call: StoreCall): Promise<unknown> {
  switch (call.op) {
    case 'write':
      return store.write(call.points, call.options);
    case 'writeEntries':
      return writeEntries(store, call.entries, call.embeddedWritePoints);
    case 'range':
      return store.range(call.query);
    case 'fleet':
      return store.fleet(call.query);
    case 'latest':
      return store.latest(call.deviceId);
    case 'metrics':
      return store.metrics(call.deviceId);
    case 'raw':
      return store.raw(call.query);
    case 'ping':
      return store.ping();
    case 'sync':
      return store.sync?.();
    case 'close':
      return store.close();
  }
}

let store: TelemetryStore | undefined;
try {
  store = await openTelemetryStore({ ...options, log });
} catch (error) {
  // Nothing else keeps this thread alive: it ends once the message is out.
  post({ type: 'failed', error: serializeError(error) });
}
if (store !== undefined) {
  const opened = store;
  // Unref'd: the thread ends when its port closes, not kept by this; stopped by a close call.
  const statsTimer = setInterval(() => post({ type: 'stats', stats: opened.stats() }), options.statsEveryMs ?? STATS_EVERY_MS).unref();
  port.on('message', ({ id, call }: { id: number; call: StoreCall }) => {
    if (call.op === 'close') clearInterval(statsTimer);
    answer(opened, call).then(
      (value) => post({ type: 'reply', id, ok: true, value, stats: opened.stats() }),
      (error: unknown) => post({ type: 'reply', id, ok: false, error: serializeError(error), stats: opened.stats() }),
    );
  });
  post({ type: 'open', kind: opened.kind, stats: opened.stats() });
}
