import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

const MSGS_PER_S = 2;
const BYTES_PER_S = 1_000;
const MAX_PAYLOAD = 2_048;
const MAX_WITHHOLD_MS = 1_000;

describe('broker: per-device rates (an excess is temporary: no PUBACK until under the rate)', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    env = await startBrokerPlatform({
      env: { OUTPOST_LIMIT_MSGS_PER_S: String(MSGS_PER_S), OUTPOST_LIMIT_BYTES_PER_S: String(BYTES_PER_S), OUTPOST_LIMIT_PAYLOAD_BYTES: String(MAX_PAYLOAD) },
      broker: { maxWithholdMs: MAX_WITHHOLD_MS },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('withholds the PUBACK of messages over msgsPerS and sends it once the device is under its rate', async () => {
    const device = await env.enroll('rate-msgs');
    const client = await connectDevice(env.mqttUrl, device);
    const started = Date.now();
    const acked = await Promise.all(
      [1, 2, 3, 4].map((seq) => client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(seq)), { qos: 1 }).then(() => Date.now() - started)),
    );
    // Two fit the burst; the other two wait for tokens: at least one more second at 2 msg/s.
    expect(Math.min(...acked)).toBeLessThan(400);
    expect(Math.max(...acked)).toBeGreaterThanOrEqual(900);
    expect(client.connected).toBe(true);
    expect(await env.metric('outpost_mqtt_rate_limited_total', { by: 'msgs', action: 'withheld' })).toBeGreaterThanOrEqual(2);
    await client.endAsync();
  });

  it('disconnects without PUBACK when the wait would exceed the withhold bound, and accepts the retry later', async () => {
    const device = await env.enroll('rate-bytes');
    const client = await connectDevice(env.mqttUrl, device);
    const batch = (seq: number): string => {
      const text = JSON.stringify(telemetryBatch(seq, { note: 'x'.repeat(1_900) }));
      expect(text.length).toBeLessThanOrEqual(MAX_PAYLOAD);
      return text;
    };
    await client.publishAsync(topics.telemetry(device.deviceId), batch(1), { qos: 1 });
    const second = client.publishAsync(topics.telemetry(device.deviceId), batch(2), { qos: 1 }).then(
      () => 'acked',
      () => 'not acked',
    );
    await closed(client);
    client.end(true);
    expect(await second).toBe('not acked');
    expect(env.logs.some((l) => l['deviceId'] === device.deviceId && String(l.msg).startsWith("mqtt publish over the device's rate (bytes)"))).toBe(true);
    expect(await env.metric('outpost_mqtt_rate_limited_total', { by: 'bytes', action: 'disconnected' })).toBe(1);

    // The agent retries with backoff: once the bucket refilled, the same batch is accepted.
    const retry = await waitFor(
      async () => {
        const again = await connectDevice(env.mqttUrl, device);
        const result = await Promise.race([
          again.publishAsync(topics.telemetry(device.deviceId), batch(2), { qos: 1 }).then(() => true),
          closed(again, 10_000).then(() => false),
        ]);
        await again.endAsync(true);
        return result;
      },
      { timeoutMs: 10_000, intervalMs: 500, what: 'the retried batch acknowledged' },
    );
    expect(retry).toBe(true);
  });
});
