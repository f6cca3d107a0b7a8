import { topics, type Command, type DesiredConfig } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, inbox } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { waitFor } from '../helpers/poll.js';
import type { InboxMessage } from '@outpost/kernel';

interface CommandView {
  id: string;
  state: string;
}

describe('broker: device channel and inbox, wired to the registry', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;

  beforeAll(async () => {
    env = await startBrokerPlatform();
    device = await env.enroll('chan-device');
  });
  afterAll(async () => {
    await env?.close();
  });

  const commandsOf = async (): Promise<CommandView[]> => ((await env.api('GET', `/api/v1/devices/${device.deviceId}/commands`)).body as { items: CommandView[] }).items;

  it('publishes the desired config retained on change, and again to a reconnecting device', async () => {
    const client = await connectDevice(env.mqttUrl, device);
    const received = inbox(client);
    await client.subscribeAsync(topics.configDesired(device.deviceId), { qos: 1 });
    const put = await env.api('PUT', `/api/v1/devices/${device.deviceId}/config`, { collectors: [{ type: 'system', intervalMs: 10_000 }] });
    expect(put.status).toBe(200);
    const live = await waitFor(() => received.find((m) => m.topic === topics.configDesired(device.deviceId)), { what: 'the desired config' });
    expect((live.payload as DesiredConfig).version).toBe(1);
    await client.endAsync();

    const again = await connectDevice(env.mqttUrl, device);
    const second = inbox(again);
    await again.subscribeAsync(topics.configDesired(device.deviceId), { qos: 1 });
    const retained = await waitFor(() => second.find((m) => m.topic === topics.configDesired(device.deviceId)), { what: 'the retained desired config' });
    expect((retained.payload as DesiredConfig).version).toBe(1);
    await again.endAsync();
  });

  it('stores a ReportedConfig against the config version', async () => {
    const reported: InboxMessage<unknown>[] = [];
    const subscription = env.broker.provides.deviceInbox.reportedConfig.subscribe((m) => reported.push(m));
    const client = await connectDevice(env.mqttUrl, device);
    await client.publishAsync(topics.configReported(device.deviceId), JSON.stringify({ v: 1, version: 1, applied: true, at: Date.now() }), { qos: 1 });
    const view = (await env.api('GET', `/api/v1/devices/${device.deviceId}/config`)).body as { reported: { version: number; applied: boolean } | null };
    expect(view.reported).toMatchObject({ version: 1, applied: true });
    expect(reported).toHaveLength(1);
    subscription.unsubscribe();
    await client.endAsync();
  });

  it('delivers a command to a subscribed device, marks it delivered, then stores its result', async () => {
    const client = await connectDevice(env.mqttUrl, device);
    const received = inbox(client);
    await client.subscribeAsync(topics.commands(device.deviceId), { qos: 1 });
    const created = (await env.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { name: 'reboot', args: { delayS: 1 } })).body as CommandView;
    const message = await waitFor(() => received.find((m) => m.topic === topics.commands(device.deviceId)), { what: 'the command' });
    expect((message.payload as Command).id).toBe(created.id);
    await waitFor(async () => (await commandsOf()).find((c) => c.id === created.id && c.state === 'delivered'), { what: 'the command marked delivered' });
    await client.publishAsync(topics.commandResult(device.deviceId), JSON.stringify({ v: 1, id: created.id, ok: true, output: 'rebooting', at: Date.now() }), { qos: 1 });
    expect((await commandsOf()).find((c) => c.id === created.id)?.state).toBe('succeeded');
    await client.endAsync();
  });

  it('queues a command for an offline device and delivers it when it subscribes', async () => {
    const created = (await env.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { name: 'sync' })).body as CommandView;
    expect((await commandsOf()).find((c) => c.id === created.id)?.state).toBe('queued');
    const client = await connectDevice(env.mqttUrl, device);
    const received = inbox(client);
    await client.subscribeAsync(topics.commands(device.deviceId), { qos: 1 });
    await waitFor(() => received.find((m) => (m.payload as Command).id === created.id), { what: 'the queued command' });
    await waitFor(async () => (await commandsOf()).find((c) => c.id === created.id && c.state === 'delivered'), { what: 'delivered' });
    await client.endAsync();
  });

  it('carries EdgeAlert and OtaProgress on the inbox streams, and presence changes', async () => {
    const alerts: InboxMessage<unknown>[] = [];
    const progress: InboxMessage<unknown>[] = [];
    const presence: { deviceId: string; online: boolean }[] = [];
    const subs = [
      env.broker.provides.deviceInbox.alerts.subscribe((m) => alerts.push(m)),
      env.broker.provides.deviceInbox.otaProgress.subscribe((m) => progress.push(m)),
      env.broker.provides.deviceInbox.presence.subscribe((p) => presence.push(p)),
    ];
    const client = await connectDevice(env.mqttUrl, device);
    await client.publishAsync(topics.alerts(device.deviceId), JSON.stringify({ v: 1, ruleId: 'hot', state: 'firing', metric: 'temperature', value: 80, ts: Date.now(), severity: 'warning' }), { qos: 1 });
    await client.publishAsync(topics.otaProgress(device.deviceId), JSON.stringify({ v: 1, jobId: 'job-1', state: 'downloading', percent: 10, at: Date.now() }), { qos: 1 });
    await client.endAsync();
    await waitFor(() => presence.some((p) => !p.online), { what: 'the offline presence' });
    for (const s of subs) s.unsubscribe();
    expect(alerts.map((a) => a.deviceId)).toEqual([device.deviceId]);
    expect(progress).toHaveLength(1);
    expect(presence.map((p) => p.online)).toEqual([true, false]);
  });

  it('lets other parts publish retained TrustSet and OtaJob through the deviceChannel port', async () => {
    const channel = env.broker.provides.deviceChannel;
    await channel.publishTrustSet(device.deviceId, { v: 1, version: 1, keys: [], signatures: [] });
    const client = await connectDevice(env.mqttUrl, device);
    expect(channel.isConnected(device.deviceId)).toBe(true);
    const received = inbox(client);
    await client.subscribeAsync(topics.trust(device.deviceId), { qos: 1 });
    const trust = await waitFor(() => received.find((m) => m.topic === topics.trust(device.deviceId)), { what: 'the retained trust set' });
    expect(trust.retain).toBe(true);
    await client.endAsync();
  });
});
