/**
 * Broker nodes through Redis (issue 15, brief C; docs/adr/0010-broker-cluster.md): two
 * in-process platforms (registry + cluster + broker) sharing one real Redis and one real
 * PostgreSQL state database, each with its own data dir, spool and MQTT listener. Real mTLS
 * devices (mqtt.js). Every wait is a deadline; the resync interval is 1 s here.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { createRegistryPart } from '@outpost/device-registry';
import { platformClient, startPlatform, startPostgres, startRedis, waitFor, TEST_ADMIN_PASSWORD, type PlatformClient, type PostgresHandle, type RedisHandle, type TestPlatform } from '@outpost/e2e';
import type { PartDeps, PartFactory } from '@outpost/kernel';
import { topics } from '@outpost/protocol';
import { createBrokerPart, createClusterPart, type BrokerPart } from '../../src/index.js';
import { closed, connectDevice, inbox } from '../helpers/mqtt-client.js';
import { telemetryBatch } from '../helpers/payloads.js';

/** SPEC "Identity": a revoked device's live session ends within 1 s, on whichever node holds it. */
const LIVE_DROP_MS = 1_000;
const RESYNC_MS = 1_000;

interface Node {
  readonly name: string;
  readonly t: TestPlatform;
  readonly broker: BrokerPart;
  readonly mqttUrl: string;
}

async function startNode(name: string, env: Record<string, string>, secretKey: Buffer): Promise<Node> {
  let broker: BrokerPart | undefined;
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart()(deps));
  const t = await startPlatform({
    parts: [createRegistryPart(), createClusterPart({ nodeId: name, resyncIntervalMs: RESYNC_MS, commandTimeoutMs: 2_000 }), brokerFactory],
    env,
    secretKey,
    dirPrefix: `outpost-cluster-${name}-`,
    logLevel: 'info',
  });
  const mqttUrl = broker?.mqttUrl();
  if (broker === undefined || mqttUrl === undefined) throw new Error(`node ${name}: the broker did not start`);
  return { name, t, broker, mqttUrl };
}

/** Resolves with the PUBACK, rejects when the connection closes first or the deadline passes. */
function publishAcked(client: MqttClient, topic: string, payload: string, timeoutMs = 3_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no PUBACK within ${timeoutMs} ms`)), timeoutMs);
    const onClose = (): void => {
      clearTimeout(timer);
      reject(new Error('connection closed before the PUBACK'));
    };
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      clearTimeout(timer);
      client.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** An operator's live stream (SSE) on a node: the text received so far. */
function openLiveStream(base: string, token: string): Promise<{ text(): string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      if (res.statusCode !== 200) reject(new Error(`GET /api/v1/live answered ${res.statusCode ?? 0}`));
      else resolve({ text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('broker nodes sharing state through Redis', () => {
  let redis: RedisHandle;
  let pg: PostgresHandle;
  let a: Node;
  let b: Node;
  let api: PlatformClient;
  let nodeEnv: Record<string, string> = {};
  const nodeSecret = randomBytes(32);
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    nodeEnv = { OUTPOST_REDIS_URL: redis.url, OUTPOST_DATABASE_URL: await pg.createDatabase('cluster') };
    // One after the other: the first creates the CA and the admin in the shared database.
    a = await startNode('node-a', nodeEnv, nodeSecret);
    b = await startNode('node-b', nodeEnv, nodeSecret);
    api = await platformClient(a.t.operatorUrl, () => a.t.platform.deviceUrl());
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await b?.t.close();
    await a?.t.close();
    await Promise.all([redis?.stop(), pg?.stop()]);
  }, 60_000);

  const connect = async (node: Node, device: Parameters<typeof connectDevice>[1]): Promise<MqttClient> => {
    const client = await connectDevice(node.mqttUrl, device);
    clients.push(client);
    return client;
  };

  it('fences a takeover: the device reconnecting to node B closes its session on node A', async () => {
    const device = await api.enroll('cl-takeover');
    const onA = await connect(a, device);
    await publishAcked(onA, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)));
    const goneFromA = closed(onA, 5_000);
    const onB = await connect(b, device);
    await goneFromA;
    await publishAcked(onB, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(2)));
    expect(a.t.logs.some((l) => l.msg === 'mqtt session fenced: taken over by another node' && l['deviceId'] === device.deviceId)).toBe(true);
    // Presence: node B holds it; once it leaves, nobody does.
    expect(await redis.command('HGET', 'outpost:holders', device.deviceId)).toMatch(/^\d+ node-b$/);
    await onB.endAsync();
    await waitFor(async () => (await redis.command('HGET', 'outpost:holders', device.deviceId)) === null, { description: 'the holder released', timeoutMs: 5_000 });
  });

  it('still fences after Redis lost its data: a new claim outranks the claims made before', async () => {
    const device = await api.enroll('cl-flushed');
    const onB = await connect(b, device);
    await publishAcked(onB, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)));
    const before = Number(await redis.command('GET', `outpost:epoch:${device.deviceId}`));
    expect(await redis.command('FLUSHALL')).toBe('+OK');
    const goneFromB = closed(onB, 5_000);
    const onA = await connect(a, device);
    // A plain INCR would start again at 1, below B's epoch: B's session would not be stale.
    expect(Number(await redis.command('GET', `outpost:epoch:${device.deviceId}`))).toBeGreaterThan(before);
    await goneFromB;
    await publishAcked(onA, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(2)));
  });

  it('refuses a publish from a stale session even when the takeover message was lost', async () => {
    const device = await api.enroll('cl-stale');
    const onA = await connect(a, device);
    await publishAcked(onA, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)));
    // Another node's claim whose bus message never arrived: the epoch moved on in Redis only.
    expect(await redis.command('INCR', `outpost:epoch:${device.deviceId}`)).toMatch(/^:\d+$/);
    await expect(publishAcked(onA, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(2)))).rejects.toThrow(/closed before the PUBACK/);
  });

  it('drops a device held by node B within 1 s of its revocation on node A', async () => {
    const device = await api.enroll('cl-revoke');
    const onB = await connect(b, device);
    const started = Date.now();
    const gone = closed(onB, LIVE_DROP_MS * 5);
    expect((await api.api('POST', `/api/v1/devices/${device.deviceId}/revoke`)).status).toBe(200);
    await gone;
    expect(Date.now() - started).toBeLessThan(LIVE_DROP_MS);
  });

  it("shows telemetry from a device on node B in node A's live stream", async () => {
    const device = await api.enroll('cl-live');
    const login = await fetch(`${a.t.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: TEST_ADMIN_PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    const stream = await openLiveStream(a.t.operatorUrl, token);
    try {
      const onB = await connect(b, device);
      await publishAcked(onB, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(7, { temperature: 42.25 })));
      await waitFor(() => stream.text().includes(device.deviceId) && stream.text().includes('42.25'), { description: "node B's telemetry on node A's live stream", timeoutMs: 5_000 });
    } finally {
      stream.close();
    }
  });

  it('delivers a command whose bus message never reached the holding node (the periodic re-read from the database)', async () => {
    // A control node (registry + cluster, no broker) on its own channels: nobody hears its bus.
    const deaf = await startPlatform({
      parts: [createRegistryPart(), createClusterPart({ nodeId: 'deaf-control', keyPrefix: 'deaf:', resyncIntervalMs: RESYNC_MS })],
      env: nodeEnv,
      secretKey: nodeSecret,
      dirPrefix: 'outpost-cluster-deaf-',
      logLevel: 'warn',
    });
    try {
      const deafApi = await platformClient(deaf.operatorUrl, () => deaf.platform.deviceUrl());
      const device = await api.enroll('cl-missed');
      const onB = await connect(b, device);
      const received = inbox(onB);
      await onB.subscribeAsync(topics.commands(device.deviceId), { qos: 1 });
      // A first command through node A (heard on the bus): once it arrived, the delivery that the
      // SUBSCRIBE started has run too (one queue per device), so only a re-read finds the next one.
      const first = (await api.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { name: 'sync' })).body as { id: string };
      await waitFor(() => received.some((m) => (m.payload as { id?: string }).id === first.id), { description: 'the first command on node B', timeoutMs: 5_000 });
      const created = await deafApi.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { name: 'sync' });
      expect(created.status).toBe(201);
      const commandId = (created.body as { id: string }).id;
      await waitFor(() => received.some((m) => (m.payload as { id?: string }).id === commandId), {
        description: 'the command delivered by node B from the database, with no bus message',
        timeoutMs: RESYNC_MS * 5,
      });
    } finally {
      await deaf.close();
    }
  }, 60_000);

  it('loses no acknowledged publish when Redis restarts under QoS 1 load', async () => {
    const device = await api.enroll('cl-load');
    let client = await connect(b, device);
    const acked = new Set<number>();
    let seq = 0;
    let stop = false;
    const reconnect = async (): Promise<void> => {
      client.end(true);
      client = await waitFor(
        async () => {
          try {
            return await connect(b, device);
          } catch {
            return undefined; // CONNACK 3 while Redis is down: try again
          }
        },
        { description: 'the device reconnected to node B', timeoutMs: 20_000, intervalMs: 200 },
      );
    };
    const load = (async () => {
      while (!stop) {
        seq += 1;
        try {
          await publishAcked(client, topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(seq)));
          acked.add(seq);
        } catch {
          await reconnect();
        }
      }
    })();
    await waitFor(() => acked.size >= 20, { description: '20 acknowledged publishes', timeoutMs: 10_000 });
    await redis.kill();
    const before = acked.size;
    await redis.restart();
    await waitFor(() => acked.size >= before + 20, { description: '20 more acknowledged publishes after the Redis restart', timeoutMs: 20_000 });
    stop = true;
    await load;
    // Every acknowledged batch is in node B's spool (a refused one may be there too: at least once).
    const spooled = new Set<number>();
    const reading = b.broker.provides.ingestSpool.read('alerts').subscribe((entry) => {
      if (entry.deviceId === device.deviceId) spooled.add((JSON.parse(entry.payload.toString('utf8')) as { seq: number }).seq);
    });
    try {
      await waitFor(() => [...acked].every((s) => spooled.has(s)), { description: 'every acknowledged batch in the spool', timeoutMs: 5_000 });
    } finally {
      reading.unsubscribe();
    }
    expect(acked.size).toBeGreaterThanOrEqual(before + 20);
  }, 60_000);

  it('delivers a command created while Redis was down, once Redis is back (re-read from the database)', async () => {
    const device = await api.enroll('cl-command');
    const onB = await connect(b, device);
    const received = inbox(onB);
    await onB.subscribeAsync(topics.commands(device.deviceId), { qos: 1 });
    await redis.kill();
    // Node A takes the command (the state database is up); its bus message is lost with Redis.
    const created = await api.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { name: 'sync' });
    expect(created.status).toBe(201);
    const commandId = (created.body as { id: string }).id;
    await redis.restart();
    // Redis restarted empty: B's session reconnects or stays; either way the command arrives.
    await waitFor(() => received.some((m) => m.topic === topics.commands(device.deviceId) && (m.payload as { id?: string }).id === commandId), {
      description: 'the command delivered to the device on node B after the Redis restart',
      timeoutMs: 10_000,
    });
  }, 30_000);
});
