/**
 * The broker benchmark's scenarios, each run against one broker process: publish
 * throughput (QoS 0 or 1 with a window of in-flight messages, one subscriber where the ACL
 * allows it), RSS per idle mTLS connection, and a reconnect storm (optionally resuming TLS
 * sessions from the previous storm). Figures only; nothing here asserts a time.
 */
import type { TLSSocket } from 'node:tls';
import { topics } from '@outpost/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { cpuSeconds, rssBytes, type BrokerUnderTest, type DeviceIdentity } from './broker-fixtures.js';

export function clientOptions(broker: BrokerUnderTest, device: DeviceIdentity, extra: IClientOptions = {}): IClientOptions {
  return {
    clientId: device.deviceId,
    key: device.keyPem,
    cert: device.certPem,
    ca: broker.serverCaPem,
    rejectUnauthorized: true,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    keepalive: 600,
    connectTimeout: 120_000,
    ...extra,
  };
}

/** Connects `devices` with at most `concurrency` handshakes at a time. */
async function connectAll(broker: BrokerUnderTest, devices: readonly DeviceIdentity[], concurrency: number): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array<MqttClient>(devices.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, devices.length) }, async () => {
      for (let i = next++; i < devices.length; i = next++) {
        const device = devices[i] as DeviceIdentity;
        clients[i] = await mqtt.connectAsync(broker.url, clientOptions(broker, device), false);
      }
    }),
  );
  return clients;
}

async function endAll(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)));
}

/** A TelemetryBatch that passes validation: `samples` samples of `metrics` numeric metrics; only `seq` changes. */
function batchMaker(samples: number, metrics: number): (seq: number) => string {
  const ts = Date.now();
  const body = JSON.stringify(
    Array.from({ length: samples }, (_, s) => ({ ts: ts - (samples - s) * 1_000, metrics: Object.fromEntries(Array.from({ length: metrics }, (_, m) => [`m${String(m)}`, 20 + s + m / 10])) })),
  );
  return (seq) => `{"v":1,"seq":${String(seq)},"samples":${body}}`;
}

export interface ThroughputOptions {
  readonly qos: 0 | 1;
  readonly messagesPerPublisher: number;
  /** Messages in flight per publisher (QoS 1: unacknowledged; QoS 0: written, not yet flushed). */
  readonly window: number;
  readonly samples: number;
  readonly metrics: number;
  /** Give up waiting for the broker-side count or the subscriber after this long. */
  readonly drainTimeoutMs: number;
}

export interface ThroughputResult {
  readonly sent: number;
  readonly payloadBytes: number;
  /** Time until every publish was acknowledged (QoS 1) or written (QoS 0). */
  readonly sendSeconds: number;
  /** What counts as accepted, and how many, and when the last was. */
  readonly acceptedBy: string;
  readonly accepted: number;
  readonly acceptSeconds: number;
  /** Batches the broker itself counted as stored (Outpost: durable in the spool); undefined when it has no such count. */
  readonly stored: number | undefined;
  /** Messages the subscriber received (undefined: no subscriber allowed). */
  readonly delivered: number | undefined;
  readonly deliverSeconds: number | undefined;
  /** Broker CPU from the first publish until its backlog (below) was worked off. */
  readonly brokerCpuSeconds: number;
  readonly clientCpuSeconds: number;
  /** Seconds from the first publish until the broker had processed what it accepted (Outpost: ingest and alerts caught up); undefined for a broker without a backlog. */
  readonly caughtUpSeconds: number | undefined;
}

/**
 * `publishers` devices publish `messagesPerPublisher` TelemetryBatches each to their own
 * telemetry topic. Accepted: PUBACKs (QoS 1), or the broker's own count (Outpost: batches
 * durable in the spool) or else the subscriber's (mosquitto, QoS 0).
 */
export async function throughput(
  broker: BrokerUnderTest,
  publishers: readonly DeviceIdentity[],
  subscriber: DeviceIdentity | undefined,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const clients = await connectAll(broker, publishers, 32);
  let sub: MqttClient | undefined;
  let delivered = 0;
  let lastDelivery = 0;
  if (subscriber !== undefined) {
    sub = await mqtt.connectAsync(broker.url, clientOptions(broker, subscriber), false);
    sub.on('message', () => {
      delivered += 1;
      lastDelivery = performance.now();
    });
    const granted = await sub.subscribeAsync('devices/+/telemetry', { qos: options.qos });
    if (granted[0]?.qos !== options.qos) throw new Error(`${broker.name}: subscription refused (${JSON.stringify(granted)})`);
  }
  const make = batchMaker(options.samples, options.metrics);
  const payloadBytes = Buffer.byteLength(make(1));
  const sent = publishers.length * options.messagesPerPublisher;
  const acceptedBefore = (await broker.accepted()) ?? 0;
  const cpu0 = await cpuSeconds(broker.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client, p) => {
      const topic = topics.telemetry(publishers[p]?.deviceId ?? '');
      let seq = 0;
      await Promise.all(
        Array.from({ length: options.window }, async () => {
          while (seq < options.messagesPerPublisher) {
            seq += 1;
            await client.publishAsync(topic, make(seq), { qos: options.qos });
          }
        }),
      );
    }),
  );
  const sendSeconds = (performance.now() - t0) / 1000;

  // What "accepted" means per broker and QoS (see the header of broker.ts).
  let acceptedBy: string;
  let accepted: number;
  let acceptSeconds: number;
  const deadline = performance.now() + options.drainTimeoutMs;
  // Scraping the broker's /metrics costs it CPU: every 100 ms; the local subscriber count every 5 ms.
  const settle = async (count: () => Promise<number>, everyMs: number): Promise<number> => {
    for (;;) {
      const have = await count();
      if (have >= sent || performance.now() > deadline) return have;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const brokerCount = await broker.accepted();
  if (options.qos === 1) {
    acceptedBy = 'PUBACK';
    accepted = sent;
    acceptSeconds = sendSeconds;
  } else if (brokerCount !== undefined) {
    acceptedBy = 'spool';
    accepted = await settle(async () => ((await broker.accepted()) ?? 0) - acceptedBefore, 100);
    acceptSeconds = (performance.now() - t0) / 1000;
  } else {
    acceptedBy = 'subscriber';
    accepted = await settle(async () => delivered, 5);
    acceptSeconds = ((delivered > 0 ? lastDelivery : performance.now()) - t0) / 1000;
  }
  // Work a broker does after accepting (Outpost: storing and alert rules, in their own thread
  // for the store) is part of the message's cost and must not spill into the next broker's run.
  let caughtUpSeconds: number | undefined;
  if (broker.backlog !== undefined) {
    const backlog = broker.backlog.bind(broker);
    while ((await backlog()) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    caughtUpSeconds = (performance.now() - t0) / 1000;
  }
  const cpu = (await cpuSeconds(broker.pid)) - cpu0;
  if (sub !== undefined && options.qos === 1) await settle(async () => delivered, 5);
  // Outpost also says how many of the acknowledged batches it made durable (all, unless refused).
  const stored = brokerCount === undefined ? undefined : ((await broker.accepted()) ?? 0) - acceptedBefore;
  const clientCpu = process.cpuUsage(client0);
  await endAll(clients);
  await sub?.endAsync(true);
  return {
    sent,
    payloadBytes,
    sendSeconds,
    acceptedBy,
    accepted,
    acceptSeconds,
    stored,
    delivered: sub === undefined ? undefined : delivered,
    deliverSeconds: sub === undefined || delivered === 0 ? undefined : (lastDelivery - t0) / 1000,
    brokerCpuSeconds: cpu,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
    caughtUpSeconds,
  };
}

export interface IdleResult {
  readonly connections: number;
  readonly rssBefore: number;
  /** RSS once the first half of the sessions is connected. */
  readonly rssHalf: number;
  readonly rssAfter: number;
  readonly bytesPerConnection: number;
  /**
   * What the second half of the sessions added, per session: the fixed costs of the first
   * connects (V8's young generation growing in the burst, TLS and module warm-up, a major GC
   * that may or may not run meanwhile) are behind it, so it moves far less between runs.
   */
  readonly marginalBytesPerConnection: number;
}

/**
 * RSS of the broker before, halfway and after `devices` idle mTLS sessions (connected
 * `concurrency` at a time, then `settleMs` of quiet each time).
 */
export async function idleRss(broker: BrokerUnderTest, devices: readonly DeviceIdentity[], options: { concurrency: number; settleMs: number }): Promise<IdleResult> {
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, options.settleMs));
  const half = Math.floor(devices.length / 2);
  await settle();
  const rssBefore = await rssBytes(broker.pid);
  const first = await connectAll(broker, devices.slice(0, half), options.concurrency);
  await settle();
  const rssHalf = await rssBytes(broker.pid);
  const second = await connectAll(broker, devices.slice(half), options.concurrency);
  await settle();
  const rssAfter = await rssBytes(broker.pid);
  const clients = [...first, ...second];
  await endAll(clients);
  return {
    connections: clients.length,
    rssBefore,
    rssHalf,
    rssAfter,
    bytesPerConnection: (rssAfter - rssBefore) / clients.length,
    marginalBytesPerConnection: second.length === 0 ? Number.NaN : (rssAfter - rssHalf) / second.length,
  };
}

export interface StormResult {
  readonly devices: number;
  readonly connected: number;
  readonly failed: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly resumed: number;
  readonly brokerCpuSeconds: number;
}

/**
 * Every device connects at once; the time until the last CONNACK. With `sessions`, each
 * device offers its TLS session from before (resumption by ticket); the sessions the broker
 * hands out this time are collected into `collect`.
 */
export async function storm(
  broker: BrokerUnderTest,
  devices: readonly DeviceIdentity[],
  options: { sessions?: ReadonlyMap<string, Buffer>; collect?: Map<string, Buffer> },
): Promise<StormResult> {
  const latencies: number[] = [];
  const clients: MqttClient[] = [];
  let failed = 0;
  let resumed = 0;
  const cpu0 = await cpuSeconds(broker.pid);
  const t0 = performance.now();
  await Promise.all(
    devices.map(async (device) => {
      const session = options.sessions?.get(device.deviceId);
      try {
        // mqtt.js hands its options to tls.connect, which takes `session` (not in IClientOptions' type).
        const resume: IClientOptions & { session?: Buffer } = session === undefined ? {} : { session };
        const client = await mqtt.connectAsync(broker.url, clientOptions(broker, device, resume), false);
        latencies.push(performance.now() - t0);
        clients.push(client);
        const socket = client.stream as TLSSocket;
        if (socket.isSessionReused()) resumed += 1;
        if (options.collect !== undefined) {
          const collect = options.collect;
          const ticket = socket.getSession();
          if (ticket !== undefined) collect.set(device.deviceId, ticket);
          socket.on('session', (fresh: Buffer) => collect.set(device.deviceId, fresh));
        }
      } catch {
        failed += 1;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await cpuSeconds(broker.pid)) - cpu0;
  // Give late session tickets (TLS 1.3 sends them after the handshake) a moment to arrive.
  if (options.collect !== undefined) await new Promise((r) => setTimeout(r, 500));
  await endAll(clients);
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.floor(p * (latencies.length - 1))] ?? 0;
  return { devices: devices.length, connected: clients.length, failed, seconds, p50Ms: q(0.5), p99Ms: q(0.99), resumed, brokerCpuSeconds: cpu };
}
