/**
 * Sessions that end while connected: a certificate reaching its notAfter (the handshake
 * checked it only at connect), and an integration whose certificate serial is revoked.
 */
import { X509Certificate } from 'node:crypto';
import { topics, type RegistryEvent } from '@outpost/protocol';
import mqtt from 'mqtt';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { clientOptions, closed, connectDevice, connectFailure } from '../helpers/mqtt-client.js';
import { waitFor } from '../helpers/poll.js';

const DAY_MS = 86_400_000;
/** How long the short-lived certificate is still valid after it is issued (it must connect first). */
const LIFETIME_MS = 4_000;

describe('broker: sessions end when their certificate expires or an integration serial is revoked', () => {
  const injected = new Subject<RegistryEvent>();
  let env: BrokerPlatform;

  beforeAll(async () => {
    env = await startBrokerPlatform({ env: { OUTPOST_DEVICE_CERT_DAYS: '1' }, registryEvents: injected });
  });
  afterAll(async () => {
    injected.complete();
    await env?.close();
  });

  it("closes a live device session just after its certificate's notAfter, counted as CERT_EXPIRED", async () => {
    // Issued "a day ago" with one day of validity: it expires LIFETIME_MS from now (to the second).
    env.clockOffsetMs = -DAY_MS + LIFETIME_MS;
    let device: DeviceCredentials;
    try {
      device = await env.enroll('expiring-device');
    } finally {
      env.clockOffsetMs = 0;
    }
    const notAfter = Date.parse(new X509Certificate(device.certPem).validTo);
    expect(notAfter - Date.now()).toBeGreaterThan(1_000);
    const client = await connectDevice(env.mqttUrl, device);
    await closed(client, LIFETIME_MS + 5_000);
    const closedAt = Date.now();
    expect(closedAt).toBeGreaterThan(notAfter);
    expect(closedAt - notAfter).toBeLessThan(1_500);
    // The client may see the close before the broker's socket reports it.
    await waitFor(async () => (await env.metric('outpost_mqtt_disconnects_total', { kind: 'device', reason: 'CERT_EXPIRED' })) === 1, { what: 'the expiry counted' });
    expect(env.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('mqtt session closed: certificate') && l.msg.includes('expired at') && l['identity'] === device.deviceId)).toBe(true);
    client.end(true);
  });

  it('keeps counting a client disconnect as client and a revocation by its code', async () => {
    const device = await env.enroll('revoked-counted');
    const first = await connectDevice(env.mqttUrl, device);
    await first.endAsync();
    await waitFor(async () => (await env.metric('outpost_mqtt_disconnects_total', { kind: 'device', reason: 'client' })) >= 1, { what: 'the client disconnect counted' });
    const second = await connectDevice(env.mqttUrl, device);
    const gone = closed(second);
    expect((await env.api('POST', `/api/v1/devices/${device.deviceId}/suspend`)).status).toBe(200);
    await gone;
    await waitFor(async () => (await env.metric('outpost_mqtt_disconnects_total', { kind: 'device', reason: 'DEVICE_SUSPENDED' })) === 1, { what: 'the suspension counted' });
    second.end(true);
  });

  it('drops the live sessions of an integration when a cert-revoked event carries its serial', async () => {
    const created = await env.api('POST', '/api/v1/credentials', { name: 'revocable-bridge', role: 'integration' });
    expect(created.status).toBe(201);
    const credential = created.body as { certificate: string; privateKey: string; caChain: string; serial: string };
    const options = clientOptions({ keyPem: credential.privateKey, certPem: credential.certificate, caPem: credential.caChain }, { clientId: 'integration:revocable-bridge' });
    const client = await mqtt.connectAsync(env.mqttUrl, options, false);
    await client.subscribeAsync(topics.integrationsAlerts(), { qos: 1 });
    const bystander = await env.enroll('integration-bystander');
    const device = await connectDevice(env.mqttUrl, bystander);

    // The registry revokes the serial (new connections are refused from now on) …
    expect((await env.api('POST', `/api/v1/certificates/${credential.serial}/revoke`)).status).toBe(200);
    // … and the event it is to emit for an integration certificate ends the live session.
    const gone = closed(client, 5_000);
    const started = Date.now();
    injected.next({ v: 1, type: 'cert-revoked', deviceId: 'revocable-bridge', serial: credential.serial.toUpperCase(), at: Date.now() });
    await gone;
    expect(Date.now() - started).toBeLessThan(1_000);
    await waitFor(async () => (await env.metric('outpost_mqtt_disconnects_total', { kind: 'integration', reason: 'CERT_REVOKED' })) === 1, { what: 'the revocation counted' });
    expect(env.logs.some((l) => l.msg === `mqtt session closed: certificate ${credential.serial.toLowerCase()} revoked` && l['integration'] === 'revocable-bridge')).toBe(true);
    expect((await connectFailure(env.mqttUrl, options)).code).toBe(5);
    // A device session that happens to share nothing with the serial is untouched.
    expect(device.connected).toBe(true);
    await device.endAsync();
    client.end(true);
  });
});

describe('broker: announces its bound MQTT port to the registry (enroll answer with port 0)', () => {
  it('calls mqttListener.bound with the ephemeral port it bound', async () => {
    const bound: number[] = [];
    const env = await startBrokerPlatform({ mqttListener: { bound: ({ port }) => bound.push(port) } });
    try {
      expect(bound).toEqual([Number(new URL(env.mqttUrl).port)]);
      expect(bound[0]).toBeGreaterThan(0);
    } finally {
      await env.close();
    }
  });
});
