import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions, closed, connectDevice, connectFailure } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { waitFor } from '../helpers/poll.js';
import { onlineStatus } from '../helpers/payloads.js';
import { topics } from '@outpost/protocol';

/** SPEC "Identity": live sessions end within 1 s of the registry event; no restart. */
const LIVE_DROP_MS = 1_000;

describe('broker: live revocation', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    // Renew at once (the window for a new key otherwise opens 60% into a certificate's life).
    env = await startBrokerPlatform({ env: { OUTPOST_RENEW_FROM_PERCENT: '0' } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('drops the live session of a revoked device within 1 s and refuses it afterwards', async () => {
    const device = await env.enroll('rev-device');
    const client = await connectDevice(env.mqttUrl, device);
    const started = Date.now();
    const gone = closed(client, LIVE_DROP_MS * 5);
    expect((await env.api('POST', `/api/v1/devices/${device.deviceId}/revoke`)).status).toBe(200);
    await gone;
    expect(Date.now() - started).toBeLessThan(LIVE_DROP_MS);
    expect((await connectFailure(env.mqttUrl, clientOptions(device, { clientId: device.deviceId }))).code).toBe(5);
    expect(env.logs.some((l) => l.msg === 'mqtt session closed: device revoked' && l['deviceId'] === device.deviceId)).toBe(true);
  });

  it('drops a suspended device within 1 s', async () => {
    const device = await env.enroll('rev-suspended');
    const client = await connectDevice(env.mqttUrl, device);
    const started = Date.now();
    const gone = closed(client, LIVE_DROP_MS * 5);
    expect((await env.api('POST', `/api/v1/devices/${device.deviceId}/suspend`)).status).toBe(200);
    await gone;
    expect(Date.now() - started).toBeLessThan(LIVE_DROP_MS);
  });

  it('drops a deleted device within 1 s', async () => {
    const device = await env.enroll('rev-deleted');
    const client = await connectDevice(env.mqttUrl, device);
    const started = Date.now();
    const gone = closed(client, LIVE_DROP_MS * 5);
    expect((await env.api('DELETE', `/api/v1/devices/${device.deviceId}`)).status).toBe(204);
    await gone;
    expect(Date.now() - started).toBeLessThan(LIVE_DROP_MS);
    expect((await connectFailure(env.mqttUrl, clientOptions(device, { clientId: device.deviceId }))).code).toBe(5);
  });

  it('drops the sessions of a revoked serial and of every certificate renewed from it (issue 11, D5)', async () => {
    const original = await env.enroll('rev-serial');
    const renewed = await env.renew(original);
    expect(renewed.serial).not.toBe(original.serial);
    const onRenewed = await connectDevice(env.mqttUrl, renewed);
    const started = Date.now();
    const gone = closed(onRenewed, LIVE_DROP_MS * 5);
    expect((await env.api('POST', `/api/v1/certificates/${original.serial}/revoke`)).status).toBe(200);
    await gone;
    expect(Date.now() - started).toBeLessThan(LIVE_DROP_MS);
    expect((await connectFailure(env.mqttUrl, clientOptions(original, { clientId: original.deviceId }))).code).toBe(5);
    expect((await connectFailure(env.mqttUrl, clientOptions(renewed, { clientId: renewed.deviceId }))).code).toBe(5);
  });

  it('keeps the session when another serial of the device is revoked', async () => {
    const original = await env.enroll('rev-other-serial');
    const renewed = await env.renew(original);
    const client = await connectDevice(env.mqttUrl, original);
    // Revoking the renewal leaves the certificate it was renewed from valid.
    expect((await env.api('POST', `/api/v1/certificates/${renewed.serial}/revoke`)).status).toBe(200);
    // The event was handled before the API answered; a PUBACK proves the session is still live.
    await client.publishAsync(topics.status(original.deviceId), JSON.stringify(onlineStatus()), { qos: 1 });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('records presence: online while connected, offline after the drop', async () => {
    const device = await env.enroll('rev-presence');
    const client = await connectDevice(env.mqttUrl, device);
    await waitFor(async () => ((await env.api('GET', `/api/v1/devices/${device.deviceId}`)).body as { online: boolean }).online, { what: 'online' });
    await client.endAsync();
    await waitFor(async () => !((await env.api('GET', `/api/v1/devices/${device.deviceId}`)).body as { online: boolean }).online, { what: 'offline' });
  });
});
