/** Valid payloads for the tests (checked by protocol's codec like any device's). */
import type { DeviceStatus, TelemetryBatch } from '@outpost/protocol';

export function onlineStatus(at = Date.now()): DeviceStatus {
  return { v: 1, state: 'online', agentVersion: '1.2.3', firmware: { name: 'base', version: '2.0.0', slot: 'a' }, uptimeS: 12, outbox: { depth: 0, bytes: 0, dropped: 0, refused: 0 }, at };
}

export function telemetryBatch(seq: number, metrics: Record<string, number | boolean | string> = { temperature: 21.5 }, ts = Date.now()): TelemetryBatch {
  return { v: 1, seq, samples: [{ ts, metrics }] };
}
