/**
 * The platform the rollout suites run: the real registry and broker, and the real rollout
 * module composed as the `ota` part, with its firmware store replaced by artifacts the suite
 * puts in memory (signatures are the firmware store's business, tested in its own suites).
 * Devices enroll through the API and speak MQTT over mTLS.
 */
import { createHash } from 'node:crypto';
import { createBrokerPart, type BrokerPart } from '@outpost/broker';
import { createRegistryPart } from '@outpost/device-registry';
import { platformClient, startPlatform, waitFor, type DeviceCredentials, type PlatformClient, type TestPlatform } from '@outpost/e2e';
import type { Clock, LiveEvent, PartDeps, PartFactory } from '@outpost/kernel';
import { createRolloutModule, type RolloutModule, type StoredArtifact } from '@outpost/ota';
import type { OtaJob, OtaProgress } from '@outpost/protocol';
import mqtt, { type MqttClient } from 'mqtt';

export interface RolloutPlatform extends PlatformClient {
  readonly t: TestPlatform;
  readonly module: RolloutModule;
  readonly mqttUrl: string;
  readonly artifacts: Map<string, StoredArtifact>;
  /** Every live event published. */
  readonly live: LiveEvent[];
  /** Publishes an event on the platform's live hub (e.g. an AlertEvent as the alerts part would). */
  publishLive(event: LiveEvent): void;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export function artifact(id: string, version = '2.0.0'): StoredArtifact {
  const sha256 = createHash('sha256').update(id).digest('hex');
  return {
    id,
    size: 1024,
    sha256,
    signature: { keyId: 'test-key', sig: 'c2lnbmF0dXJl' },
    manifest: { v: 1, id, name: 'app', version, type: 'archive', hardware: ['test'], size: 1024, sha256, createdAt: 1 },
  };
}

/** `extraParts` are composed after the rollouts (e.g. the alerts part, whose AlertEvents the health gates read). */
export async function startRolloutPlatform(options: { env?: Record<string, string>; dataDir?: string; clock?: Clock; extraParts?: readonly PartFactory[] } = {}): Promise<RolloutPlatform> {
  let broker: BrokerPart | undefined;
  let module: RolloutModule | undefined;
  let deps: PartDeps | undefined;
  const artifacts = new Map<string, StoredArtifact>([['art-2', artifact('art-2')]]);
  const brokerFactory: PartFactory = (d: PartDeps) => (broker = createBrokerPart()(d));
  const rolloutsFactory: PartFactory = async (d: PartDeps) => {
    deps = d;
    const m = await createRolloutModule({ deps: d, artifacts: { get: async (id) => artifacts.get(id) } });
    module = m;
    let state: 'ok' | 'down' = 'down';
    return {
      name: 'ota',
      provides: { maintenance: m.maintenance },
      routes: (listeners) => m.routes(listeners),
      metrics: (registry) => m.metrics(registry),
      start: async () => {
        await m.start();
        state = 'ok';
      },
      ready: () => state,
      close: async () => {
        state = 'down';
        await m.close();
      },
    };
  };
  const t = await startPlatform({
    parts: [createRegistryPart(), brokerFactory, rolloutsFactory, ...(options.extraParts ?? [])],
    dirPrefix: 'outpost-rollouts-',
    env: { OUTPOST_OTA_TICK: '100ms', ...options.env },
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const mqttUrl = broker?.mqttUrl();
  if (module === undefined || mqttUrl === undefined || deps === undefined) {
    await t.close();
    throw new Error('the broker or the rollout module did not start');
  }
  const live: LiveEvent[] = [];
  const hub = deps.live;
  const sub = hub.events?.subscribe((e) => live.push(e));
  const client = await platformClient(t.operatorUrl, () => t.platform.deviceUrl());
  return {
    ...client,
    t,
    module,
    mqttUrl,
    artifacts,
    live,
    publishLive: (event) => hub.publish(event),
    async metric(name, labels = {}) {
      const found = await t.platform.registry.getSingleMetric(name)?.get();
      if (found === undefined) throw new Error(`no metric ${name}`);
      return found.values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      sub?.unsubscribe();
      await t.close();
    },
  };
}

/** A simulated device: an MQTT client over mTLS that records the jobs it receives and reports progress. */
export interface SimDevice {
  readonly id: string;
  readonly client: MqttClient;
  readonly jobs: OtaJob[];
  lastJob(): OtaJob | undefined;
  progress(state: OtaProgress['state'], extra?: Partial<OtaProgress>, jobId?: string): Promise<void>;
  status(uptimeS: number): Promise<void>;
  telemetry(): Promise<void>;
  close(): Promise<void>;
}

export async function connectSim(url: string, creds: DeviceCredentials): Promise<SimDevice> {
  const client = await mqtt.connectAsync(url, {
    key: creds.keyPem,
    cert: creds.certPem,
    ca: creds.caPem,
    rejectUnauthorized: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clientId: creds.deviceId,
    clean: true,
  });
  const jobs: OtaJob[] = [];
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/ota/job')) jobs.push(JSON.parse(payload.toString('utf8')) as OtaJob);
  });
  await client.subscribeAsync(`devices/${creds.deviceId}/ota/job`, { qos: 1 });
  const lastJob = (): OtaJob | undefined => jobs[jobs.length - 1];
  let seq = 0;
  return {
    id: creds.deviceId,
    client,
    jobs,
    lastJob,
    async progress(state, extra = {}, jobId) {
      const id = jobId ?? lastJob()?.jobId;
      if (id === undefined) throw new Error(`${creds.deviceId} has no job to report on`);
      const body: OtaProgress = { v: 1, jobId: id, state, at: Date.now(), ...extra };
      await client.publishAsync(`devices/${creds.deviceId}/ota/progress`, JSON.stringify(body), { qos: 1 });
    },
    async status(uptimeS) {
      await client.publishAsync(
        `devices/${creds.deviceId}/status`,
        JSON.stringify({ v: 1, state: 'online', agentVersion: '1.0.0', uptimeS, outbox: { depth: 0, bytes: 0, dropped: 0, refused: 0 }, at: Date.now() }),
        { qos: 1, retain: true },
      );
    },
    async telemetry() {
      seq += 1;
      await client.publishAsync(`devices/${creds.deviceId}/telemetry`, JSON.stringify({ v: 1, seq, samples: [{ ts: Date.now(), metrics: { temp: 20 } }] }), { qos: 1 });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}

/** Enrolls and connects `n` devices named `prefix-1…n`. */
export async function fleet(p: RolloutPlatform, prefix: string, n: number): Promise<SimDevice[]> {
  const devices: SimDevice[] = [];
  for (let i = 1; i <= n; i += 1) devices.push(await connectSim(p.mqttUrl, await p.enroll(`${prefix}-${i}`)));
  return devices;
}

export interface RolloutBody {
  readonly [key: string]: unknown;
}

export async function createRollout(p: RolloutPlatform, body: RolloutBody): Promise<{ id: string; [key: string]: unknown }> {
  const res = await p.api('POST', '/api/v1/rollouts', body);
  if (res.status !== 201) throw new Error(`create rollout: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

export interface RolloutDetailBody {
  id: string;
  state: string;
  currentWave: number;
  counts: Record<string, number>;
  reason: { code: string; message: string } | null;
  wavesProgress: { index: number; size: number; counts: Record<string, number>; gate: { status: string; reason: string } }[];
}

export async function detail(p: RolloutPlatform, id: string): Promise<RolloutDetailBody> {
  const res = await p.api('GET', `/api/v1/rollouts/${id}`);
  if (res.status !== 200) throw new Error(`get rollout: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as RolloutDetailBody;
}

/** Waits until the rollout satisfies `check`; the last detail is in the timeout message. */
export async function waitRollout(p: RolloutPlatform, id: string, check: (d: RolloutDetailBody) => boolean, description: string, timeoutMs = 15_000): Promise<RolloutDetailBody> {
  let last: RolloutDetailBody | undefined;
  try {
    return await waitFor(
      async () => {
        last = await detail(p, id);
        return check(last) ? last : undefined;
      },
      { description, timeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    throw new Error(`${description}: last seen ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Devices that received a (non-cancelled) job so far. */
export function withJob(devices: readonly SimDevice[]): SimDevice[] {
  return devices.filter((d) => d.jobs.some((j) => j.cancel !== true));
}
