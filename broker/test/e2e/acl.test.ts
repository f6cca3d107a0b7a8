import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

describe('broker: the ACL (a violation disconnects and is counted)', () => {
  let env: BrokerPlatform;
  let alice: DeviceCredentials;
  let bob: DeviceCredentials;

  beforeAll(async () => {
    env = await startBrokerPlatform();
    alice = await env.enroll('acl-alice');
    bob = await env.enroll('acl-bob');
  });
  afterAll(async () => {
    await env?.close();
  });

  it("disconnects a device that publishes on another device's topic, without PUBACK", async () => {
    const client = await connectDevice(env.mqttUrl, alice);
    const acked = client.publishAsync(topics.telemetry(bob.deviceId), JSON.stringify(telemetryBatch(1)), { qos: 1 }).then(
      () => 'acked',
      () => 'failed',
    );
    await closed(client);
    expect(await env.metric('outpost_mqtt_acl_refusals_total', { operation: 'publish', reason: 'TOPIC_FORBIDDEN' })).toBe(1);
    client.end(true);
    expect(await acked).toBe('failed');
    expect(env.logs.some((l) => l['deviceId'] === alice.deviceId && String(l.msg).startsWith('mqtt publish refused (TOPIC_FORBIDDEN)'))).toBe(true);
  });

  it('disconnects a device that publishes on its own platform → device topic', async () => {
    const client = await connectDevice(env.mqttUrl, alice);
    client.publish(topics.configDesired(alice.deviceId), '{}', { qos: 0 });
    await closed(client);
    client.end(true);
  });

  it.each([
    ['#', 'TOPIC_WILDCARD'],
    ['$SYS/#', 'TOPIC_RESERVED'],
    ['devices/+/commands', 'TOPIC_WILDCARD'],
  ])('disconnects a device that subscribes to %s', async (filter, code) => {
    const before = await env.metric('outpost_mqtt_acl_refusals_total', { operation: 'subscribe', reason: code });
    const client = await connectDevice(env.mqttUrl, alice);
    client.subscribe(filter, { qos: 1 });
    await closed(client);
    client.end(true);
    await waitFor(async () => (await env.metric('outpost_mqtt_acl_refusals_total', { operation: 'subscribe', reason: code })) === before + 1, { what: 'the refusal counted' });
  });

  it("disconnects a device that subscribes to another device's commands", async () => {
    const client = await connectDevice(env.mqttUrl, alice);
    client.subscribe(topics.commands(bob.deviceId), { qos: 1 });
    await closed(client);
    client.end(true);
  });

  it('grants a device its own platform → device topics', async () => {
    const client = await connectDevice(env.mqttUrl, alice);
    const granted = await client.subscribeAsync([topics.commands(alice.deviceId), topics.configDesired(alice.deviceId), topics.errors(alice.deviceId), topics.trust(alice.deviceId), topics.otaJob(alice.deviceId)], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1, 1, 1]);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});
