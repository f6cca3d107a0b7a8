import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, connectFailure, clientOptions } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { foreignClientCertificate } from '@outpost/e2e';
import { waitFor } from '../helpers/poll.js';
import { rawConnect } from '../helpers/raw-mqtt.js';

describe('broker: who may connect (mTLS + registry)', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;
  let other: DeviceCredentials;

  beforeAll(async () => {
    env = await startBrokerPlatform({ env: { OUTPOST_DEVICE_CERT_DAYS: '1' } });
    device = await env.enroll('auth-dev-1');
    other = await env.enroll('auth-dev-2');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('accepts a device with its own certificate and its device id as client id', async () => {
    const client = await connectDevice(env.mqttUrl, device);
    expect(client.connected).toBe(true);
    await client.endAsync();
    expect(await env.metric('outpost_mqtt_connects_total', { kind: 'device' })).toBeGreaterThanOrEqual(1);
  });

  it('logs the bound port and reports ready', () => {
    expect(env.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(env.logs.some((l) => l.msg.startsWith('mqtt listener bound') && l['mqttUrl'] === env.mqttUrl)).toBe(true);
    expect(['ok', 'degraded']).toContain(env.platform.readiness()['broker']);
  });

  it('refuses a TLS connection without a client certificate', async () => {
    const failure = await connectFailure(env.mqttUrl, clientOptions({ caPem: device.caPem }, { clientId: device.deviceId }));
    expect(failure.message).not.toBe('connected');
    await waitFor(async () => (await env.metric('outpost_mqtt_auth_failures_total', { reason: 'TLS_NO_CLIENT_CERTIFICATE' })) === 1, { what: 'the missing certificate counted' });
  });

  it("refuses a certificate from another CA, even with a device's CN", async () => {
    const foreign = foreignClientCertificate({ CN: device.deviceId, O: 'Outpost device' });
    const failure = await connectFailure(env.mqttUrl, clientOptions({ caPem: device.caPem, certPem: foreign.certPem, keyPem: foreign.keyPem }, { clientId: device.deviceId }));
    expect(failure.message).not.toBe('connected');
    expect(failure.code).toBeUndefined();
    await waitFor(async () => (await env.metric('outpost_mqtt_auth_failures_total', { reason: 'TLS_UNABLE_TO_VERIFY_LEAF_SIGNATURE' })) === 1, { what: 'the foreign CA counted' });
  });

  it('refuses an expired certificate at the TLS handshake', async () => {
    env.clockOffsetMs = -3 * 86_400_000;
    let expired: DeviceCredentials;
    try {
      expired = await env.enroll('auth-expired');
    } finally {
      env.clockOffsetMs = 0;
    }
    const failure = await connectFailure(env.mqttUrl, clientOptions(expired, { clientId: expired.deviceId }));
    expect(failure.message).not.toBe('connected');
    await waitFor(() => env.logs.find((l) => l.msg === 'mqtt TLS handshake refused' && l['reason'] === 'TLS_CERT_HAS_EXPIRED'), { what: 'the expiry logged' });
    expect(await env.metric('outpost_mqtt_auth_failures_total', { reason: 'TLS_CERT_HAS_EXPIRED' })).toBe(1);
  });

  it('refuses a client id that is not the certificate device id (return code 2)', async () => {
    const failure = await connectFailure(env.mqttUrl, clientOptions(device, { clientId: other.deviceId }));
    expect(failure.code).toBe(2);
    expect(env.logs.some((l) => l['reason'] === 'CLIENT_ID_MISMATCH' && l['returnCode'] === 2)).toBe(true);
  });

  it('refuses an empty client id with clean session 0 (return code 2)', async () => {
    const refused = await rawConnect(env.mqttUrl, device, { clientId: '', clean: false });
    expect(refused.returnCode).toBe(2);
    refused.socket.destroy();
    expect(await env.metric('outpost_mqtt_auth_failures_total', { reason: 'CLIENT_ID_EMPTY' })).toBeGreaterThanOrEqual(1);
  });

  it('resumes TLS sessions (tickets) and still knows the device on a resumed session', async () => {
    const first = await rawConnect(env.mqttUrl, device, { clientId: device.deviceId, clean: true });
    expect(first.returnCode).toBe(0);
    const ticket = await waitFor(() => first.session, { what: 'a session ticket' });
    first.socket.destroy();
    const second = await rawConnect(env.mqttUrl, device, { clientId: device.deviceId, clean: true }, { session: ticket });
    expect(second.resumed).toBe(true);
    expect(second.returnCode).toBe(0);
    second.socket.destroy();
  });

  it('refuses a suspended device (return code 5) and lets it in again once resumed', async () => {
    const suspended = await env.enroll('auth-suspended');
    expect((await env.api('POST', `/api/v1/devices/${suspended.deviceId}/suspend`)).status).toBe(200);
    expect((await connectFailure(env.mqttUrl, clientOptions(suspended, { clientId: suspended.deviceId }))).code).toBe(5);
    expect(env.logs.some((l) => l['reason'] === 'DEVICE_SUSPENDED')).toBe(true);
    expect((await env.api('POST', `/api/v1/devices/${suspended.deviceId}/resume`)).status).toBe(200);
    const client = await connectDevice(env.mqttUrl, suspended);
    await client.endAsync();
  });

  it('answers from its cache on a reconnect, and the cache follows registry events', async () => {
    const cached = await env.enroll('auth-cached');
    for (let i = 0; i < 3; i += 1) await (await connectDevice(env.mqttUrl, cached)).endAsync();
    expect((await env.api('POST', `/api/v1/devices/${cached.deviceId}/revoke`)).status).toBe(200);
    expect((await connectFailure(env.mqttUrl, clientOptions(cached, { clientId: cached.deviceId }))).code).toBe(5);
  });
});
