import { topics, type TelemetryBatch } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { waitFor } from '../helpers/poll.js';

/** `count` samples one second apart ending now-ish, `perBatch` per batch. */
function batches(count: number, perBatch: number, start: number, value: (i: number) => number): TelemetryBatch[] {
  const out: TelemetryBatch[] = [];
  for (let first = 0; first < count; first += perBatch) {
    const samples = [];
    for (let i = first; i < Math.min(count, first + perBatch); i += 1) samples.push({ ts: start + i * 1000, metrics: { temperature: value(i), door_open: i % 2 === 0 } });
    out.push({ v: 1, seq: out.length + 1, samples });
  }
  return out;
}

describe('ingest: spool → embedded telemetry store', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    env = await startBrokerPlatform({ broker: { ingest: { maxWaitMs: 5, retryMinMs: 10, retryMaxMs: 50 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('stores every sample of every acknowledged batch, then commits the cursor', async () => {
    const device = await env.enroll('ingest-device');
    const client = await connectDevice(env.mqttUrl, device);
    const start = Date.now() - 600_000;
    const sent = batches(300, 10, start, (i) => i);
    for (const batch of sent) await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(batch), { qos: 1 });
    const store = env.platform.telemetry;
    const stored = await waitFor(async () => {
      const points = await store.raw({ deviceIds: [device.deviceId], metric: 'temperature', from: start, to: start + 300_000 });
      return points.length === 300 ? points : undefined;
    }, { what: '300 stored samples' });
    expect(stored.map((p) => p.value)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(stored.map((p) => p.ts)).toEqual(Array.from({ length: 300 }, (_, i) => start + i * 1000));
    const spool = env.broker.provides.ingestSpool;
    await waitFor(() => spool.committed('ingest') === spool.stats().lastSeq, { what: 'the ingest cursor at the spool head' });
    expect(await env.metric('outpost_ingest_points_total')).toBeGreaterThanOrEqual(300);
    expect(await env.metric('outpost_telemetry_store_up')).toBe(1);

    // A replay of the same batches (an agent resending after a lost PUBACK) stores nothing twice.
    for (const batch of sent.slice(0, 5)) await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(batch), { qos: 1 });
    await waitFor(() => spool.committed('ingest') === spool.stats().lastSeq, { what: 'the replay ingested' });
    const after = await store.raw({ deviceIds: [device.deviceId], metric: 'temperature', from: start, to: start + 300_000 });
    expect(after).toHaveLength(300);
    const count = await store.range({ deviceId: device.deviceId, metric: 'door_open', from: start, to: start + 300_000, everyMs: 300_000, fn: 'count' });
    expect(count.reduce((sum, p) => sum + Number(p.value), 0)).toBe(300);
    await client.endAsync();
  });
});
