import { topics } from '@outpost/protocol';
import type { LiveEvent as PlatformLiveEvent } from '@outpost/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, inbox } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { onlineStatus, telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';
import type { MqttClient } from 'mqtt';

const MAX_PAYLOAD = 2_048;

describe('broker: payload validation (acknowledged, dropped, counted, explained)', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;
  let client: MqttClient;
  let received: ReturnType<typeof inbox>;
  const live: PlatformLiveEvent[] = [];

  beforeAll(async () => {
    env = await startBrokerPlatform({ env: { OUTPOST_LIMIT_PAYLOAD_BYTES: String(MAX_PAYLOAD) } });
    env.platform.live.events.subscribe((event) => live.push(event));
    device = await env.enroll('pay-device');
    client = await connectDevice(env.mqttUrl, device);
    received = inbox(client);
    await client.subscribeAsync(topics.errors(device.deviceId), { qos: 0 });
  });
  afterAll(async () => {
    await client?.endAsync(true);
    await env?.close();
  });

  const errorFor = (seq: number | undefined, code: string) =>
    waitFor(() => received.find((m) => m.topic === topics.errors(device.deviceId) && (m.payload as { code: string; seq?: number }).code === code && (m.payload as { seq?: number }).seq === seq), { what: `a PublishError ${code}` });

  it('acknowledges a valid batch and publishes it to the live hub', async () => {
    await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)), { qos: 1 });
    const event = await waitFor(() => live.find((e) => e.topic === 'telemetry' && e.deviceId === device.deviceId), { what: 'the live telemetry event' });
    expect((event.payload as { seq: number }).seq).toBe(1);
    expect(await env.metric('outpost_mqtt_messages_in_total', { kind: 'telemetry' })).toBeGreaterThanOrEqual(1);
  });

  it('acknowledges an oversized batch, drops it and explains PAYLOAD_TOO_LARGE with its seq', async () => {
    const big = telemetryBatch(2, { note: 'x'.repeat(200) });
    big.samples = Array.from({ length: 20 }, () => ({ ts: Date.now(), metrics: { note: 'x'.repeat(200) } }));
    const text = JSON.stringify(big);
    expect(text.length).toBeGreaterThan(MAX_PAYLOAD);
    await client.publishAsync(topics.telemetry(device.deviceId), text, { qos: 1 });
    const error = await errorFor(2, 'PAYLOAD_TOO_LARGE');
    expect((error.payload as { topic: string }).topic).toBe(topics.telemetry(device.deviceId));
    expect(live.some((e) => e.topic === 'telemetry' && (e.payload as { seq: number }).seq === 2)).toBe(false);
    expect(await env.metric('outpost_mqtt_validation_failures_total', { reason: 'PAYLOAD_TOO_LARGE' })).toBe(1);
  });

  it('acknowledges malformed JSON and explains PAYLOAD_INVALID (with the seq it could still read)', async () => {
    await client.publishAsync(topics.telemetry(device.deviceId), '{"v":1,"seq":3,', { qos: 1 });
    const error = await errorFor(3, 'PAYLOAD_INVALID');
    expect((error.payload as { reason: string }).reason).toMatch(/JSON/);
  });

  it.each([
    ['a metric named time', { time: 1 }, 'NAME_RESERVED', 101],
    ['a metric named device', { device: 1 }, 'NAME_RESERVED', 102],
    ['an invalid metric name', { '1bad': 1 }, 'NAME_INVALID', 103],
  ])('refuses %s with the batch seq', async (_what, metrics, code, seq) => {
    await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(seq, metrics)), { qos: 1 });
    await errorFor(seq, code);
    expect(env.logs.some((l) => l['deviceId'] === device.deviceId && l['code'] === code && l['seq'] === seq)).toBe(true);
  });

  it('refuses a sample too far in the future (TS_OUT_OF_RANGE)', async () => {
    await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(7, { t: 1 }, Date.now() + 3_600_000)), { qos: 1 });
    await errorFor(7, 'TS_OUT_OF_RANGE');
  });

  it('acknowledges a batch that is not JSON at all and explains it without a seq', async () => {
    await client.publishAsync(topics.telemetry(device.deviceId), 'temperature=21.5', { qos: 1 });
    await errorFor(undefined, 'PAYLOAD_INVALID');
  });

  it('holds the fleet to one type per metric (TYPE_CONFLICT), also across devices', async () => {
    await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(20, { door_open: true })), { qos: 1 });
    const other = await env.enroll('pay-other');
    const otherClient = await connectDevice(env.mqttUrl, other);
    const otherErrors = inbox(otherClient);
    await otherClient.subscribeAsync(topics.errors(other.deviceId), { qos: 0 });
    await otherClient.publishAsync(topics.telemetry(other.deviceId), JSON.stringify(telemetryBatch(21, { door_open: 1 })), { qos: 1 });
    const error = await waitFor(() => otherErrors.find((m) => (m.payload as { code: string }).code === 'TYPE_CONFLICT'), { what: 'the TYPE_CONFLICT' });
    expect(error.payload).toMatchObject({ seq: 21, topic: topics.telemetry(other.deviceId) });
    expect((error.payload as { reason: string }).reason).toMatch(/door_open/);
    await otherClient.endAsync();
  });

  it('records a DeviceStatus in the registry and on the live hub', async () => {
    await client.publishAsync(topics.status(device.deviceId), JSON.stringify(onlineStatus()), { qos: 1, retain: true });
    const view = await waitFor(async () => {
      const body = (await env.api('GET', `/api/v1/devices/${device.deviceId}`)).body as { online: boolean; agentVersion: string | null; firmware: unknown };
      return body.agentVersion === '1.2.3' ? body : undefined;
    }, { what: 'the agent version stored' });
    expect(view.online).toBe(true);
    await waitFor(() => live.find((e) => e.topic === 'status' && e.deviceId === device.deviceId), { what: 'the live status event' });
  });

  it('keeps serving the device after refusals (nothing was a disconnect)', () => {
    expect(client.connected).toBe(true);
  });
});

