/**
 * The set-up every cluster fault test shares (issue 15, Tests): a cluster from startCluster(), a
 * fleet of simulated devices enrolled through HAProxy (enrollFleet), each a lightweight mqtt.js
 * client on its own enrolled certificate that reconnects through HAProxy whenever its connection
 * closes, and a QoS 1 load whose every acknowledged batch can be counted in InfluxDB.
 *
 *   const fleet = await startClusterFleet({ devices: 200, prefix: 'rr' });
 *   const load = fleet.startLoad();
 *   … a fault …
 *   const acked = await load.stop();
 *   await fleet.expectExactlyInInflux(acked);
 *   await fleet.stop();
 *
 * Each batch carries one sample at its own timestamp (base + seq), so the InfluxQL count of the
 * fleet's points equals the number of batches acknowledged: a lost batch makes it smaller, one
 * written twice cannot make it larger (same series and time), and a batch is only ever sent again
 * until it is acknowledged, so nothing unacknowledged is in InfluxDB either.
 */
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import mqtt, { type MqttClient } from 'mqtt';
import { setTimeout as delay } from 'node:timers/promises';
import { adminApi, type DeviceIdentity } from '../services/outpost-server.js';
import { waitFor } from '../services/wait-for.js';
import { enrollFleet } from './enroll-fleet.js';
import { startCluster, type ClusterHandle, type ClusterNode, type StartClusterOptions } from './start-cluster.js';

export type AdminCall = (method: string, path: string, body?: unknown) => Promise<unknown>;

/** One simulated device: reconnects through its URL on any close, republishes a batch until PUBACK. */
export class SimulatedDevice {
  readonly id: string;
  /** The acknowledged batches: seq → when the PUBACK came (ms since the epoch; a failed count names them). */
  readonly acked = new Map<number, number>();
  readonly received: { topic: string; payload: string; at: number }[] = [];
  closes = 0;
  /** When the last batch was acknowledged (ms since the epoch). */
  lastAckAt = 0;
  /** Why the last connect or publish failed (for a test's failure message). */
  lastError: string | undefined;
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

  /** Connects (and subscribes to its commands and desired config, in one SUBSCRIBE as the agent does), retrying with backoff. */
  async connect(): Promise<MqttClient> {
    for (let attempt = 0; ; attempt += 1) {
      if (this.#stopped) throw new Error(`${this.id} stopped`);
      if (this.#client?.connected === true) return this.#client;
      let client: MqttClient | undefined;
      try {
        // Not mqtt.connectAsync: with its default allowRetries a connection closed before CONNACK
        // without an 'error' (HAProxy accepting, then the stopping node closing) never settles.
        client = mqtt.connect(this.url, {
          clientId: this.id,
          key: this.identity.keyPem,
          cert: this.identity.certPem,
          ca: this.identity.caPem,
          protocolVersion: 4,
          clean: false,
          reconnectPeriod: 0,
          connectTimeout: 10_000,
          ...(this.servername === undefined ? {} : { servername: this.servername }),
        });
        const pending = client;
        pending.on('error', (err) => (this.lastError = `mqtt: ${err.message}`));
        await connack(pending, 15_000);
        const connected = pending;
        connected.on('close', () => {
          this.closes += 1;
          this.#lastClose = Date.now();
        });
        connected.on('message', (topic, payload) => this.received.push({ topic, payload: payload.toString('utf8'), at: Date.now() }));
        await withTimeout(connected.subscribeAsync({ [topics.commands(this.id)]: { qos: 1 }, [topics.configDesired(this.id)]: { qos: 1 } }), 10_000, 'no SUBACK');
        this.#client = connected;
        return connected;
      } catch (err) {
        this.lastError = `connect: ${(err as Error).message}`;
        client?.end(true);
        // Backoff with jitter: 200 devices refused at once (Redis away: CONNACK 3) must not become a handshake storm.
        await delay(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Publishes batch `seq` (one sample at `base + seq`) until the broker acknowledges it. */
  async publish(seq: number, base: number): Promise<void> {
    const payload = JSON.stringify({ v: 1, seq, samples: [{ ts: base + seq, metrics: { m0: seq } }] });
    for (;;) {
      const client = await this.connect();
      try {
        await withTimeout(client.publishAsync(topics.telemetry(this.id), payload, { qos: 1 }), 10_000, 'no PUBACK');
        this.lastAckAt = Date.now();
        this.acked.set(seq, this.lastAckAt);
        return;
      } catch (err) {
        this.lastError = `publish: ${(err as Error).message}`;
        client.end(true);
        if (this.#client === client) this.#client = undefined;
      }
    }
  }

  /** True once a message on `topic` arrived (optionally one whose payload passes `match`). */
  got(topic: string, match: (payload: string) => boolean = () => true): boolean {
    return this.received.some((m) => m.topic === topic && match(m.payload));
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#client?.endAsync(true).catch(() => undefined);
  }
}

/** Resolves on CONNACK; rejects on an error, a close before it, or the deadline. */
function connack(client: MqttClient, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      client.removeListener('error', done);
      client.removeListener('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onConnect = (): void => done();
    const onClose = (): void => done(new Error('closed before CONNACK'));
    const timer = setTimeout(() => done(new Error(`no CONNACK within ${ms} ms`)), ms);
    client.once('connect', onConnect);
    client.once('error', done);
    client.once('close', onClose);
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export interface QosLoad {
  /** Batches acknowledged so far. */
  acked(): number;
  /** Resolves once every device has had a batch acknowledged after `since`; answers how long after `since` the last one was. */
  allAckedAfter(since: number, timeoutMs: number, description: string): Promise<number>;
  /** Stops sending new batches, waits for the ones in flight to be acknowledged, answers the total acknowledged. */
  stop(timeoutMs?: number): Promise<number>;
}

export interface ClusterFleet {
  readonly cluster: ClusterHandle;
  readonly devices: readonly SimulatedDevice[];
  /** The operator API through HAProxy, as admin. */
  readonly api: AdminCall;
  /** How long enrolling the fleet took, and the retried requests. */
  readonly enrollment: { readonly elapsedMs: number; readonly retries: Readonly<Record<string, number>> };
  /** Every device publishing one QoS 1 batch per `intervalMs` (default 1 s), batches numbered from where the last load stopped. */
  startLoad(intervalMs?: number): QosLoad;
  /** Points of the fleet in InfluxDB (InfluxQL count). */
  countPoints(): Promise<number>;
  /** Waits until InfluxDB holds `acked` points, then answers the count (which the test compares: more would be a double count). */
  pointsOnceSettled(acked: number, timeoutMs?: number): Promise<number>;
  /** Devices per broker node as HAProxy counts its MQTT sessions. */
  sessionsPerBroker(): Promise<Record<string, number>>;
  /** Waits until every device is connected and the operator API counts them all online. */
  allOnline(timeoutMs: number): Promise<void>;
  /** The operator API again (after the control node restarted: a new login). */
  relogin(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartClusterFleetOptions {
  readonly devices: number;
  /** Device id prefix (one per test file, for reading logs). */
  readonly prefix: string;
  readonly brokers?: number;
  readonly cluster?: StartClusterOptions;
}

/** Starts a cluster (3 brokers + 1 control by default), enrolls and connects the fleet through HAProxy. */
export async function startClusterFleet(options: StartClusterFleetOptions): Promise<ClusterFleet> {
  const cluster = await startCluster({
    brokers: options.brokers ?? 3,
    controls: 1,
    nodeTimeoutMs: 180_000,
    ...options.cluster,
    // A node (re)starting on a loaded 2-core machine took over 5 s (the default) to get its first PostgreSQL connection.
    env: { OUTPOST_LIMIT_MSGS_PER_S: '1000', OUTPOST_DATABASE_CONNECT_TIMEOUT: '20s', ...options.cluster?.env },
  });
  const devices: SimulatedDevice[] = [];
  try {
    const ids = Array.from({ length: options.devices }, (_, i) => `${options.prefix}-${String(i).padStart(4, '0')}`);
    const enrolled = await enrollFleet({ operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl }, ids, { concurrency: 16, group: options.prefix });
    devices.push(...enrolled.identities.map((identity) => new SimulatedDevice(identity, cluster.haproxy.mqttUrl)));
    await Promise.all(devices.map((d) => d.connect()));
    let api: AdminCall = await adminApi(cluster.operatorUrl);
    const base = Date.now() - 3_600_000;
    let nextSeq = 1;
    const brokers = cluster.nodes.filter((n) => n.role === 'broker').map((n) => n.name);
    const fleet: ClusterFleet = {
      cluster,
      devices,
      api: (method, path, body) => api(method, path, body),
      enrollment: { elapsedMs: enrolled.elapsedMs, retries: enrolled.retries },
      startLoad(intervalMs = 1_000) {
        let running = true;
        const first = nextSeq;
        const loops = devices.map(async (device, i) => {
          // Spread the fleet's publishes over the interval.
          await delay((intervalMs * i) / devices.length);
          for (let seq = first; running; seq += 1) {
            const started = Date.now();
            // A device closed by fleet.stop() ends its loop (the load was not stopped: a failed test).
            if (!(await device.publish(seq, base).then(() => true, () => false))) return;
            nextSeq = Math.max(nextSeq, seq + 1);
            await delay(Math.max(0, intervalMs - (Date.now() - started)));
          }
        });
        const all = Promise.all(loops);
        return {
          acked: () => devices.reduce((sum, d) => sum + d.acked.size, 0),
          async allAckedAfter(since, timeoutMs, description) {
            await waitFor(() => devices.every((d) => d.lastAckAt > since), { timeoutMs, intervalMs: 50, description }).catch((err: unknown) => {
              const behind = devices.filter((d) => d.lastAckAt <= since);
              const sample = behind.slice(0, 5).map((d) => `${d.id} (${d.connected ? 'connected' : 'not connected'}, ${d.closes} closes, last error: ${d.lastError ?? 'none'})`);
              throw new Error(`${(err as Error).message}: ${behind.length} of ${devices.length} devices behind, e.g. ${sample.join('; ')}`, { cause: err });
            });
            return Math.max(...devices.map((d) => d.lastAckAt)) - since;
          },
          async stop(timeoutMs = 60_000) {
            running = false;
            await withTimeout(all, timeoutMs, 'the load to settle (every batch in flight acknowledged)');
            return devices.reduce((sum, d) => sum + d.acked.size, 0);
          },
        };
      },
      countPoints: () => countPoints(cluster),
      async pointsOnceSettled(acked, timeoutMs = 90_000) {
        await waitFor(async () => (await countPoints(cluster)) >= acked, { timeoutMs, intervalMs: 500, description: `${acked} points in InfluxDB` }).catch(async (err: unknown) => {
          throw new Error(`${(err as Error).message}; InfluxDB holds ${await countPoints(cluster)}\n${await missingReport(cluster, devices)}`, { cause: err });
        });
        return countPoints(cluster);
      },
      async sessionsPerBroker() {
        const sessions = await cluster.haproxy.sessions();
        return Object.fromEntries(brokers.map((name) => [name, sessions[`broker_mqtt/${name}`] ?? 0]));
      },
      async allOnline(timeoutMs) {
        await waitFor(() => devices.every((d) => d.connected), { timeoutMs, intervalMs: 100, description: `all ${devices.length} devices connected` });
        await waitFor(
          async () => {
            const summary = (await api('GET', '/api/v1/fleet/summary')) as { online?: number };
            return summary.online === devices.length;
          },
          { timeoutMs, intervalMs: 250, description: `the operator API counting all ${devices.length} devices online` },
        );
      },
      async relogin() {
        api = await waitFor(() => adminApi(cluster.operatorUrl), { timeoutMs: 60_000, intervalMs: 250, description: 'an admin login through HAProxy' });
      },
      async stop() {
        await Promise.all(devices.map((d) => d.close()));
        await cluster.stop();
      },
    };
    return fleet;
  } catch (err) {
    await Promise.all(devices.map((d) => d.close()));
    await cluster.stop();
    throw err;
  }
}

export interface NodeReadiness {
  readonly httpStatus: number;
  readonly status?: string;
  readonly parts?: Record<string, string>;
  readonly reasons?: Record<string, string>;
  /** Why there was no answer (httpStatus 0). */
  readonly error?: string;
}

/** GET /readyz of one node, straight (not through HAProxy); an unreachable node answers httpStatus 0. */
export async function nodeReadiness(node: ClusterNode): Promise<NodeReadiness> {
  try {
    const res = await fetch(`${node.operatorUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as Omit<NodeReadiness, 'httpStatus'>;
    return { httpStatus: res.status, ...body };
  } catch (err) {
    const cause = (err as Error).cause as { code?: string } | undefined;
    return { httpStatus: 0, error: `${(err as Error).message}${cause?.code === undefined ? '' : ` (${cause.code})`}` };
  }
}

/**
 * For a count that fell short: which acknowledged batches InfluxDB lacks (device, seq, when the
 * PUBACK came), and what the broker nodes logged about the spool, ingest and the store (every
 * process of each node, the killed ones too).
 */
async function missingReport(cluster: ClusterHandle, devices: readonly SimulatedDevice[]): Promise<string> {
  const result = await queryInfluxQL({ url: cluster.influx.url, db: cluster.influxDb }, 'SELECT "m0" FROM "telemetry" GROUP BY "device"').catch(() => []);
  const stored = new Map<string, Set<number>>();
  for (const series of result[0]?.series ?? []) {
    const device = series.tags['device'];
    if (device !== undefined) stored.set(device, new Set(series.values.map((row) => Number(row[1]))));
  }
  const missing: string[] = [];
  for (const device of devices) {
    for (const [seq, at] of device.acked) {
      if (stored.get(device.id)?.has(seq) !== true) missing.push(`${device.id} seq ${seq} acknowledged ${new Date(at).toISOString()}`);
    }
  }
  const noteworthy = /"level":(40|50|60)|spool|ingest|dead-letter|InfluxDB/;
  const logs = cluster.nodes.flatMap((node) =>
    node.outputs().flatMap((output, incarnation) => {
      const lines = output.split('\n').filter((line) => noteworthy.test(line));
      return [`${node.name}#${incarnation}: ${lines.length} noteworthy of ${output.length} bytes logged`, ...lines.slice(-40).map((line) => `${node.name}#${incarnation}: ${line.slice(0, 400)}`)];
    }),
  );
  return [`missing (${missing.length}): ${missing.slice(0, 30).join('; ')}`, ...logs].join('\n');
}

async function countPoints(cluster: ClusterHandle): Promise<number> {
  const result = await queryInfluxQL({ url: cluster.influx.url, db: cluster.influxDb }, 'SELECT count("m0") FROM "telemetry"').catch(() => []);
  const value = result[0]?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}
