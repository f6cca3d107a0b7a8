/**
 * Issue 15, Tests: three broker nodes and one control node (real `outpost server --role …`
 * processes) behind a real HAProxy, on real Redis, PostgreSQL and influxd. Simulated devices
 * (mTLS MQTT clients with certificates enrolled through HAProxy) publish QoS 1 telemetry batches;
 * a broker node is SIGKILLed under that load. Every acknowledged batch must be in InfluxDB exactly
 * once (one sample per batch at its own timestamp, so the InfluxQL count equals the acknowledged
 * batches); a command and a config change made during the outage reach a device that was on the
 * killed node; revoking a device connected to broker-3 drops it within 1 s.
 *
 * OUTPOST_CLUSTER_TEST_DEVICES (default 30) sets the fleet size; the brief's figure is ~200, but
 * enrolling one device (an RSA key here, a signature on a node) takes ~1.5 s on a loaded 2-core machine.
 */
import { enrollDevices, startCluster, waitFor, type ClusterHandle, type DeviceIdentity } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEVICES = Number(process.env['OUTPOST_CLUSTER_TEST_DEVICES'] ?? 30);
const BATCHES_BEFORE_KILL = 5;
const BATCHES = 15;

/** One simulated device: reconnects through HAProxy on any close, republishes a batch until PUBACK. */
class Device {
  readonly id: string;
  readonly acked = new Set<number>();
  readonly received: { topic: string; payload: string }[] = [];
  closes = 0;
  #client: MqttClient | undefined;
  #stopped = false;
  #lastClose: number | undefined;

  constructor(
    readonly identity: DeviceIdentity,
    readonly url: string,
    /** The name the server certificate is checked against (a node's own 127.0.0.x is not in it). */
    readonly servername?: string,
  ) {
    this.id = identity.deviceId;
  }

  get lastClose(): number | undefined {
    return this.#lastClose;
  }

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  async connect(): Promise<MqttClient> {
    for (;;) {
      if (this.#stopped) throw new Error(`${this.id} stopped`);
      if (this.#client?.connected === true) return this.#client;
      try {
        const client = await mqtt.connectAsync(this.url, {
          clientId: this.id,
          key: this.identity.keyPem,
          cert: this.identity.certPem,
          ca: this.identity.caPem,
          protocolVersion: 4,
          clean: false,
          reconnectPeriod: 0,
          connectTimeout: 5_000,
          ...(this.servername === undefined ? {} : { servername: this.servername }),
        });
        client.on('close', () => {
          this.closes += 1;
          this.#lastClose = Date.now();
        });
        client.on('message', (topic, payload) => this.received.push({ topic, payload: payload.toString('utf8') }));
        // Both topics in one SUBSCRIBE, as the agent does (on Redis persistence that once got no
        // SUBACK: broker/src/cluster/redis-aedes.ts stores a packet's subscriptions once).
        await withTimeout(client.subscribeAsync({ [topics.commands(this.id)]: { qos: 1 }, [topics.configDesired(this.id)]: { qos: 1 } }), 10_000);
        this.#client = client;
        return client;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Publishes batch `seq` (one sample at `base + seq`) until the broker acknowledges it. */
  async publish(seq: number, base: number): Promise<void> {
    const payload = JSON.stringify({ v: 1, seq, samples: [{ ts: base + seq, metrics: { m0: seq } }] });
    for (;;) {
      const client = await this.connect();
      try {
        await withTimeout(client.publishAsync(topics.telemetry(this.id), payload, { qos: 1 }), 10_000);
        this.acked.add(seq);
        return;
      } catch {
        client.end(true);
        this.#client = undefined;
      }
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#client?.endAsync(true).catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no PUBACK within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function countPoints(cluster: ClusterHandle): Promise<number> {
  const result = await queryInfluxQL({ url: cluster.influx.url, db: cluster.influxDb }, 'SELECT count("m0") FROM "telemetry"').catch(() => []);
  const value = result[0]?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

describe('a cluster of three broker nodes and one control node behind HAProxy (issue 15)', () => {
  let cluster: ClusterHandle;
  let devices: Device[] = [];
  let api: (method: string, path: string, body?: unknown) => Promise<unknown>;
  const base = Date.now() - 3_600_000;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, controls: 1, nodeTimeoutMs: 180_000, env: { OUTPOST_LIMIT_MSGS_PER_S: '1000' } });
    const { adminApi } = await import('@outpost/e2e');
    api = await adminApi(cluster.operatorUrl);
    const ids = Array.from({ length: DEVICES }, (_, i) => `cl-${String(i).padStart(4, '0')}`);
    // One at a time, each retried: enrollments through HAProxy now and then end in "socket hang up"
    // (a kept-alive socket the node closed as it was reused; not investigated further yet).
    const identities: DeviceIdentity[] = [];
    for (const id of ids) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          identities.push(...(await enrollDevices({ operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl }, [id])));
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    }
    devices = identities.map((identity) => new Device(identity, cluster.haproxy.mqttUrl));
    await Promise.all(devices.map((d) => d.connect()));
  }, 600_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await cluster?.stop();
  }, 120_000);

  it('spreads the devices over the three broker nodes through HAProxy', async () => {
    const sessions = await cluster.haproxy.sessions();
    const perNode = ['broker-1', 'broker-2', 'broker-3'].map((name) => sessions[`broker_mqtt/${name}`] ?? 0);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(DEVICES);
    for (const count of perNode) expect(count).toBeGreaterThan(DEVICES / 6);
  });

  it('loses no acknowledged batch and counts none twice when a broker node is SIGKILLed under QoS 1 load; a command and a config change made during the outage are delivered', async () => {
    for (let seq = 1; seq <= BATCHES_BEFORE_KILL; seq += 1) await Promise.all(devices.map((d) => d.publish(seq, base)));
    // Kill the node with the most sessions while every device keeps publishing.
    const sessions = await cluster.haproxy.sessions();
    const victim = ['broker-1', 'broker-2', 'broker-3'].sort((a, b) => (sessions[`broker_mqtt/${b}`] ?? 0) - (sessions[`broker_mqtt/${a}`] ?? 0))[0] ?? 'broker-1';
    const load = (async () => {
      for (let seq = BATCHES_BEFORE_KILL + 1; seq <= BATCHES; seq += 1) await Promise.all(devices.map((d) => d.publish(seq, base)));
    })();
    await cluster.node(victim).kill();
    const killedAt = Date.now();
    // Its devices see their connections close a moment after the process is gone.
    const moved = await waitFor(
      () => {
        const closed = devices.filter((d) => d.lastClose !== undefined && d.lastClose >= killedAt - 5_000);
        return closed.length > 0 ? closed : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20, description: `the devices of ${victim} to lose their connections` },
    );
    const target = moved[0];
    if (target === undefined) throw new Error('no device was on the killed node');
    // During the outage (the victim is still down): a command and a desired config for one of its devices.
    await api('POST', `/api/v1/devices/${target.id}/commands`, { name: 'reboot', args: { delayS: 1 } });
    await api('PUT', `/api/v1/devices/${target.id}/config`, { collectors: [{ type: 'system', intervalMs: 10_000 }] });
    await load;
    const acked = devices.reduce((sum, d) => sum + d.acked.size, 0);
    expect(acked).toBe(DEVICES * BATCHES);
    await waitFor(() => target.received.some((m) => m.topic === topics.commands(target.id)) && target.received.some((m) => m.topic === topics.configDesired(target.id)), {
      timeoutMs: 30_000,
      description: `the command and the config reach ${target.id} on its new node`,
    });
    expect(Date.now() - killedAt).toBeLessThan(120_000);
    // Batches the victim acknowledged but had not yet written are in its own spool (ADR 0010):
    // they reach InfluxDB when it is back, and writes are idempotent, so none counts twice.
    await cluster.node(victim).start();
    await waitFor(async () => (await countPoints(cluster)) >= acked, { timeoutMs: 60_000, intervalMs: 250, description: `${acked} points in InfluxDB` });
    expect(await countPoints(cluster)).toBe(acked);
  }, 240_000);

  it('drops a device connected to broker-3 within 1 s of its revocation on the control node', async () => {
    await waitFor(async () => (await cluster.haproxy.serverStates())['broker_mqtt/broker-3'] === 'UP', { timeoutMs: 30_000, description: 'broker-3 up' });
    // A fresh connection straight to broker-3 (HAProxy picks the node otherwise).
    const device = devices.find((d) => d.connected);
    if (device === undefined) throw new Error('no connected device');
    await device.close();
    const direct = new Device(device.identity, cluster.node('broker-3').mqttUrl, 'localhost');
    await direct.connect();
    const before = direct.closes;
    const t0 = Date.now();
    await api('POST', `/api/v1/devices/${device.id}/revoke`);
    await waitFor(() => direct.closes > before, { timeoutMs: 5_000, intervalMs: 10, description: `${device.id} dropped by broker-3` });
    const droppedMs = (direct.lastClose ?? Date.now()) - t0;
    await direct.close();
    expect(droppedMs).toBeLessThan(1_000);
  }, 60_000);
});
