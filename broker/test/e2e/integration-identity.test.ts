import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions, closed, connectFailure } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import mqtt from 'mqtt';

interface Credential {
  certificate: string;
  privateKey: string;
  caChain: string;
  serial: string;
}

describe('broker: integration identities (role integration) subscribe under integrations/ only', () => {
  let env: BrokerPlatform;
  let credential: Credential;

  beforeAll(async () => {
    env = await startBrokerPlatform();
    const created = await env.api('POST', '/api/v1/credentials', { name: 'grafana-bridge', role: 'integration' });
    expect(created.status).toBe(201);
    credential = created.body as Credential;
  });
  afterAll(async () => {
    await env?.close();
  });

  const options = (clientId: string) => clientOptions({ keyPem: credential.privateKey, certPem: credential.certificate, caPem: credential.caChain }, { clientId });

  it('may subscribe to integrations/#', async () => {
    const client = await mqtt.connectAsync(env.mqttUrl, options('integration:grafana-bridge'), false);
    const granted = await client.subscribeAsync('integrations/#', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    await client.endAsync();
  });

  it('is disconnected when it subscribes to device topics', async () => {
    const client = await mqtt.connectAsync(env.mqttUrl, options('integration:grafana-bridge'), false);
    client.subscribe(topics.telemetry('some-device'), { qos: 1 });
    await closed(client);
    client.end(true);
  });

  it('is disconnected when it publishes', async () => {
    const client = await mqtt.connectAsync(env.mqttUrl, options('integration:grafana-bridge'), false);
    client.publish(topics.integrationsAlerts(), '{}', { qos: 1 });
    await closed(client);
    client.end(true);
    expect(await env.metric('outpost_mqtt_acl_refusals_total', { reason: 'INTEGRATION_PUBLISH' })).toBe(1);
  });

  it('may not use a device id as client id (it could take over a device session)', async () => {
    expect((await connectFailure(env.mqttUrl, options('grafana-bridge'))).code).toBe(2);
  });

  it('loses its live session when its certificate is revoked, and is refused afterwards', async () => {
    const client = await mqtt.connectAsync(env.mqttUrl, { ...options('integration:grafana-bridge'), reconnectPeriod: 0 }, false);
    await client.subscribeAsync('integrations/#', { qos: 1 });
    const dropped = closed(client);
    const revokedAt = Date.now();
    expect((await env.api('POST', `/api/v1/certificates/${credential.serial}/revoke`)).status).toBe(200);
    await dropped;
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    client.end(true);
    expect(await env.metric('outpost_mqtt_disconnects_total', { reason: 'CERT_REVOKED' })).toBeGreaterThanOrEqual(1);
    expect((await connectFailure(env.mqttUrl, options('integration:grafana-bridge'))).code).toBe(5);
  });
});
