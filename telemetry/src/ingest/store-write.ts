/**
 * How ingest hands points to a store: one write, or — for the embedded store, which holds its
 * thread for a whole transaction — writes of at most `embeddedWritePoints` with the event loop
 * free in between, so whatever else runs on that thread (PUBACKs and alerts in the broker's
 * thread, queries in the store's own thread) does not queue behind one long transaction.
 */
import type { TelemetryPoint, TelemetryStore, WriteResult } from '../store/telemetry-store.js';

export async function writeInChunks(store: TelemetryStore, points: readonly TelemetryPoint[], embeddedWritePoints: number): Promise<WriteResult> {
  if (points.length === 0) return { written: 0, deadLettered: 0 };
  if (store.kind !== 'embedded' || points.length <= embeddedWritePoints) return store.write(points, { validated: true });
  // Grouped by device (a stable sort: the later of two points of one series and ts still wins),
  // so a series' rollup minutes are recomputed in one transaction, not in every one: in a
  // micro-bench, 1,000-point transactions cost +45 % CPU unsorted and +0-10 % sorted.
  const grouped = [...points].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  let written = 0;
  let deadLettered = 0;
  for (let start = 0; start < grouped.length; start += embeddedWritePoints) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    // A failure retries the whole read: replaced points change nothing (idempotent).
    const result = await store.write(grouped.slice(start, start + embeddedWritePoints), { validated: true });
    written += result.written;
    deadLettered += result.deadLettered;
  }
  return { written, deadLettered };
}
