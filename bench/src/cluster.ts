/**
 * One `--role all` process vs three broker nodes + one control node behind HAProxy (issue 15),
 * the same load on each, side by side in one run:
 *
 * - QoS 1 telemetry: `devices` devices publish `batches` batches of `samples` samples each,
 *   `inflight` unacknowledged at a time per device: msg/s until the last PUBACK, CPU per message
 *   and end-to-end points/s until the last point is countable in InfluxDB (InfluxQL count).
 * - Idle: `idle` mTLS sessions held at once (spread over the broker nodes by HAProxy's leastconn):
 *   RSS per session, and Redis memory per session (INFO used_memory) on the cluster.
 * - Reconnect storm (cluster only): with the idle sessions held, the busiest broker node is
 *   SIGKILLed; its devices reconnect through HAProxy (retry with backoff, as agents do) and the
 *   time until the last one is back is measured.
 *
 * CPU and RSS are summed over every process that serves the load, read from /proc: the Outpost
 * node(s), and on the cluster Redis, PostgreSQL (postmaster + backends) and HAProxy. influxd is the
 * same sink for both and is left out. This machine has 2 cores shared by every process: the 3-node
 * figures measure the cluster's overhead, not a speed-up.
 *
 *   npm run build && node bench/dist/src/cluster.js [devices=20] [batches=50] [samples=10] [inflight=4] [idle=300]
 *     [connect=50] [enroll=16] [keys=20] [deadlineS=180] [connectS=30] [tries=3] [haproxyMaxconn=auto]
 *
 * Connects run `connect` at a time, each with its own `connectS` deadline (TCP + TLS + CONNACK), up to
 * `tries` attempts per device; the bench prints how many needed a retry and how many failed (a failed
 * idle connect fails the run). HAProxy's maxconn defaults to room for every session of the run: at
 * the test harness's 8000 the 10,000-session profile queued its last connects unanswered.
 *
 * Ends with one BENCH_RESULT line (result-line.ts): the cluster's figures, anchored to the single
 * process's figures of the same run.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findFreePorts, startCluster, startInfluxd, startServerProcess, type ClusterHandle, type DeviceIdentity } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import mqtt, { type MqttClient } from 'mqtt';
import { keyValueArgs, wholeNumber } from './args.js';
import { enrollBenchFleet } from './cluster-fleet.js';
import { pidsListeningOn, ProcessGroup, sampleGroups } from './cluster-procs.js';
import { printResult, type BenchFigure } from './result-line.js';

const args = keyValueArgs(process.argv.slice(2), ['devices', 'batches', 'samples', 'inflight', 'idle', 'connect', 'enroll', 'keys', 'deadlineS', 'connectS', 'tries', 'haproxyMaxconn']);
const num = (key: string, fallback: number, min = 1): number => wholeNumber(args, key, fallback, min);
const config = {
  devices: num('devices', 20),
  batches: num('batches', 50),
  samples: num('samples', 10),
  inflight: num('inflight', 4),
  idle: num('idle', 300, 0),
  connectConcurrency: num('connect', 50),
  enrollConcurrency: num('enroll', 16),
  keyPool: num('keys', 20),
  deadlineMs: num('deadlineS', 180) * 1000,
  /** One connect's own deadline (TCP + TLS + CONNACK), started when that connect starts. */
  connectTimeoutMs: num('connectS', 30) * 1000,
  /** Attempts per device before it counts as failed. */
  connectTries: num('tries', 3),
  /** HAProxy's maxconn (global = each frontend's): by default room for every session of the run. */
  haproxyMaxconn: num('haproxyMaxconn', 0, 0),
};
const say = (line: string): void => console.log(line);

/** Everything the bench talks to on one side of the comparison. */
interface Target {
  readonly label: string;
  readonly mqttUrl: string;
  readonly influx: { url: string; db: string };
  readonly groups: readonly ProcessGroup[];
}

interface LoadResult {
  readonly msgPerS: number;
  readonly cpuUsPerMsg: number;
  readonly pointsPerS: number;
  readonly stored: number;
  readonly total: number;
  readonly byGroupCpuS: Map<string, number>;
}

interface IdleResult {
  readonly sessions: number;
  readonly kibPerSession: number;
  readonly byGroupKib: Map<string, number>;
  readonly connectS: number;
  /** Client i is device i's (undefined: it never got in). */
  readonly clients: (MqttClient | undefined)[];
  /** Retries and failures of the idle connects (the failed devices are not among `clients`). */
  readonly tally: ConnectTally;
}

/** Rejects when `promise` has not settled within `ms` (a PUBACK that never comes must not hang the bench). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${String(ms / 1000)} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A connect that did not end in a CONNACK, with a short reason to count ("ECONNRESET", "no CONNACK within 30 s", …). */
class ConnectFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * One connect with its own deadline (TCP + TLS + CONNACK), started when this connect starts — never
 * a deadline shared by a queue of connects. Not mqtt.connectAsync: a connection closed before
 * CONNACK without an 'error' never settles it. A failed attempt leaves no client open.
 */
function connectOnce(target: Target, d: DeviceIdentity): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(target.mqttUrl, { clientId: d.deviceId, key: d.keyPem, cert: d.certPem, ca: d.caPem, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: config.connectTimeoutMs, keepalive: 300 });
    // An 'error' with no listener would throw: the session's errors show as its 'close'.
    client.on('error', () => undefined);
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      reject(new ConnectFailure(reason));
    };
    const timer = setTimeout(() => fail(`no CONNACK within ${String(config.connectTimeoutMs / 1000)} s`), config.connectTimeoutMs + 1_000);
    client.once('error', (err: Error & { code?: unknown }) => fail(typeof err.code === 'string' ? err.code : err.message));
    client.once('close', () => fail('closed before CONNACK'));
    client.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
  });
}

/** What a set of connects cost: attempts past each device's first, by reason, and the devices that never got in. */
interface ConnectTally {
  retries: number;
  failed: number;
  readonly reasons: Record<string, number>;
}
const newTally = (): ConnectTally => ({ retries: 0, failed: 0, reasons: {} });
const tallyLine = (t: ConnectTally): string =>
  `${String(t.retries)} retried, ${String(t.failed)} failed${Object.keys(t.reasons).length === 0 ? '' : ` (${Object.entries(t.reasons).map(([k, v]) => `${k} ×${String(v)}`).join(', ')})`}`;

/** Connects device `d`, up to `config.connectTries` attempts with a short jittered backoff; undefined when every attempt failed. */
async function connectWithRetries(target: Target, d: DeviceIdentity, tally: ConnectTally): Promise<MqttClient | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await connectOnce(target, d);
    } catch (err) {
      const reason = err instanceof ConnectFailure ? err.reason : (err as Error).message;
      tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
      if (attempt >= config.connectTries) {
        tally.failed += 1;
        return undefined;
      }
      tally.retries += 1;
      await delay(250 * 2 ** attempt * (0.5 + Math.random() / 2));
    }
  }
}

/** Connects `identities`, `concurrency` at a time: client i is device i's, undefined when it never got in (counted in the tally, not thrown). */
async function connectAll(target: Target, identities: readonly DeviceIdentity[], concurrency: number, tally: ConnectTally): Promise<(MqttClient | undefined)[]> {
  const clients = new Array<MqttClient | undefined>(identities.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, identities.length) }, async () => {
      for (let i = next++; i < identities.length; i = next++) clients[i] = await connectWithRetries(target, identities[i] as DeviceIdentity, tally);
    }),
  );
  return clients;
}

const connected = (clients: readonly (MqttClient | undefined)[]): MqttClient[] => clients.filter((c): c is MqttClient => c !== undefined);

async function countPoints(influx: { url: string; db: string }): Promise<number> {
  const result = await queryInfluxQL(influx, 'SELECT count("m0") FROM "telemetry"').catch(() => []);
  const value = result[0]?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

async function load(target: Target, identities: readonly DeviceIdentity[]): Promise<LoadResult> {
  const tally = newTally();
  const clients = connected(await connectAll(target, identities, config.connectConcurrency, tally));
  if (tally.failed > 0) {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw new Error(`${target.label}: ${String(tally.failed)} of ${String(identities.length)} load devices could not connect (${tallyLine(tally)})`);
  }
  const start = Date.now() - 7_200_000;
  const total = identities.length * config.batches * config.samples;
  const before = await sampleGroups(target.groups);
  const t0 = performance.now();
  await within(
    Promise.all(
      clients.map(async (client, d) => {
        const id = identities[d]?.deviceId ?? '';
        let next = 1;
        await Promise.all(
          Array.from({ length: config.inflight }, async () => {
            while (next <= config.batches) {
              const seq = next++;
              const samples = Array.from({ length: config.samples }, (_, s) => ({ ts: start + seq * config.samples + s, metrics: { m0: s, m1: seq } }));
              await client.publishAsync(topics.telemetry(id), JSON.stringify({ v: 1, seq, samples }), { qos: 1 });
            }
          }),
        );
      }),
    ),
    config.deadlineMs,
    `${target.label}: PUBACKs of ${String(identities.length * config.batches)} batches`,
  );
  const ackedS = (performance.now() - t0) / 1000;
  let stored = 0;
  const deadline = Date.now() + config.deadlineMs;
  while (Date.now() < deadline) {
    stored = await countPoints(target.influx);
    if (stored >= total) break;
    await delay(200);
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = await sampleGroups(target.groups);
  const messages = identities.length * config.batches;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const byGroupCpuS = new Map([...after.byGroup].map(([name, s]) => [name, s.cpuS - (before.byGroup.get(name)?.cpuS ?? 0)]));
  return { msgPerS: messages / ackedS, cpuUsPerMsg: ((after.total.cpuS - before.total.cpuS) * 1e6) / messages, pointsPerS: stored / seconds, stored, total, byGroupCpuS };
}

/** Holds `identities.length` idle sessions; the caller ends them (the storm reuses them). */
async function idle(target: Target, identities: readonly DeviceIdentity[]): Promise<IdleResult> {
  const before = await sampleGroups(target.groups);
  const t0 = performance.now();
  const tally = newTally();
  const clients = await within(connectAll(target, identities, config.connectConcurrency, tally), config.deadlineMs, `${target.label}: ${String(identities.length)} idle sessions`);
  const connectS = (performance.now() - t0) / 1000;
  // Quiet: what the connections left behind (TLS buffers, sessions) is what an idle fleet costs.
  await delay(3_000);
  const after = await sampleGroups(target.groups);
  const sessions = connected(clients).length;
  const n = Math.max(1, sessions);
  const byGroupKib = new Map([...after.byGroup].map(([name, s]) => [name, (s.rssBytes - (before.byGroup.get(name)?.rssBytes ?? 0)) / 1024 / n]));
  return { sessions, kibPerSession: (after.total.rssBytes - before.total.rssBytes) / 1024 / n, byGroupKib, connectS, clients, tally };
}

interface StormResult {
  readonly victim: string;
  readonly moved: number;
  readonly seconds: number;
  readonly cpuS: number;
  readonly spreadAfter: Record<string, number>;
  /** Reconnect attempts that failed before a device got back (an agent's backoff retries them), by reason. */
  readonly tally: ConnectTally;
}

/** SIGKILLs the broker holding the most sessions; its devices reconnect through HAProxy with backoff. */
async function storm(cluster: ClusterHandle, target: Target, identities: readonly DeviceIdentity[], clients: (MqttClient | undefined)[]): Promise<StormResult> {
  const sessions = await haproxySessions(cluster);
  const brokers = cluster.nodes.filter((n) => n.role === 'broker').map((n) => n.name);
  const victim = [...brokers].sort((a, b) => (sessions[`broker_mqtt/${b}`] ?? 0) - (sessions[`broker_mqtt/${a}`] ?? 0))[0] ?? 'broker-1';
  const expected = sessions[`broker_mqtt/${victim}`] ?? 0;
  let dropped = 0;
  let back = 0;
  let lastDrop = 0;
  let over = false;
  const tally = newTally();
  const reconnect = async (i: number): Promise<void> => {
    const d = identities[i] as DeviceIdentity;
    for (let attempt = 0; !over; attempt += 1) {
      try {
        clients[i] = await connectOnce(target, d);
        back += 1;
        return;
      } catch (err) {
        const reason = err instanceof ConnectFailure ? err.reason : (err as Error).message;
        tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
        tally.retries += 1;
        // An agent's backoff: 0.5 s doubling to 8 s, with jitter.
        await delay(Math.min(8_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  };
  const pending: Promise<void>[] = [];
  clients.forEach((c, i) =>
    c?.once('close', () => {
      // Closes after the storm (the bench ending its sessions) are not part of it.
      if (over) return;
      dropped += 1;
      lastDrop = performance.now();
      pending.push(reconnect(i));
    }),
  );
  const victimPid = cluster.node(victim).process?.child.pid ?? 0;
  const before = await sampleGroups(target.groups);
  // The victim's CPU so far leaves the sum with it: taken out of the baseline.
  const victimCpuS = (await new ProcessGroup('victim', () => [victimPid]).sample()).cpuS;
  const t0 = performance.now();
  await cluster.node(victim).kill();
  await within(
    (async () => {
      // Every session of the victim closed (HAProxy shuts them when the check fails, or the RST does), then all back.
      // (or, should HAProxy's count have been off, no further close for 5 s).
      const settled = (): boolean => dropped >= expected || (dropped > 0 && performance.now() - lastDrop > 5_000);
      while (!settled() || back < dropped) await delay(50);
    })(),
    config.deadlineMs,
    `storm: ${String(expected)} devices of ${victim} back (dropped ${String(dropped)}, back ${String(back)})`,
  ).finally(() => (over = true));
  const seconds = (performance.now() - t0) / 1000;
  over = true;
  await Promise.all(pending);
  const after = await sampleGroups(target.groups);
  tally.failed = dropped - back;
  return { victim, moved: dropped, seconds, cpuS: after.total.cpuS - (before.total.cpuS - victimCpuS), spreadAfter: await haproxySessions(cluster), tally };
}

/** HAProxy's sessions per server; its stats page gets 1 s per try, which a machine busy with 10,000 handshakes can miss: 5 tries. */
async function haproxySessions(cluster: ClusterHandle): Promise<Record<string, number>> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await cluster.haproxy.sessions();
    } catch (err) {
      if (tries >= 5) throw err;
      await delay(500);
    }
  }
}

async function redisUsedMemory(cluster: ClusterHandle): Promise<number> {
  const info = (await cluster.redis.command('INFO', 'memory')) ?? '';
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

const fleetSize = Math.max(config.devices, config.idle);

/**
 * Every connection through HAProxy is one frontend session; its maxconn (global, and so each
 * frontend's) must hold the most sessions the run holds at once, or the connects past it wait
 * unanswered in the listen queue ('connack timeout'). Each session costs HAProxy two descriptors
 * (client and server side) and it refuses to start when 2 × maxconn + ~33 exceeds the hard
 * open-files limit it inherits (20,000 here, not raisable without CAP_SYS_RESOURCE): checked
 * before anything is enrolled.
 */
function hardOpenFilesLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
    return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}
const sessionsAtOnce = Math.max(config.idle, config.devices, config.enrollConcurrency) + 50;
const haproxyFit = Math.floor((hardOpenFilesLimit() - 64) / 2);
if ((config.haproxyMaxconn > 0 ? config.haproxyMaxconn : sessionsAtOnce) > haproxyFit) {
  throw new Error(
    `HAProxy can hold at most ${String(haproxyFit)} sessions under this machine's hard open-files limit (${String(hardOpenFilesLimit())}: two descriptors per session); ` +
      `the run needs ${String(config.haproxyMaxconn > 0 ? config.haproxyMaxconn : sessionsAtOnce)}: lower idle= (or haproxyMaxconn=), or raise the hard limit (ulimit -Hn, LimitNOFILE)`,
  );
}
const figures: BenchFigure[] = [];
const table: [string, string, string][] = [];
const failures: string[] = [];
const row = (name: string, single: string, cluster: string): void => void table.push([name, single, cluster]);
const fmt = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));

const single: { load?: LoadResult; idle?: Omit<IdleResult, 'clients'> } = {};
const multi: { load?: LoadResult; idle?: Omit<IdleResult, 'clients'>; redisKibPerSession?: number; spread?: Record<string, number>; storm?: StormResult } = {};
const env = {
  OUTPOST_LIMIT_MSGS_PER_S: '100000',
  // One bench process stands for a whole fleet behind one address (HAProxy's, in the cluster).
  OUTPOST_MQTT_MAX_HANDSHAKES: '1000000',
  OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP: '1000000',
  OUTPOST_LOG_LEVEL: 'warn',
};
const load1AtStart = loadavg()[0] ?? 0;
say(`cluster bench: ${String(config.devices)} devices × ${String(config.batches)} QoS 1 batches × ${String(config.samples)} samples (${String(config.inflight)} in flight per device); ${String(config.idle)} idle sessions; load average ${load1AtStart.toFixed(2)} at start`);
say('2 cores shared by every process, the bench included: the 3-node figures measure the cluster overhead, not a speed-up.');

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-cluster-'));
try {
  // ---- One `--role all` process: embedded SQLite state, the same InfluxDB sink.
  const influx = await startInfluxd();
  try {
    // Fixed ports, so the node can log at warn like the cluster's (its URLs are not logged then).
    const [httpPort = 0, devicePort = 0, mqttPort = 0] = await findFreePorts(3);
    const urls = { operatorUrl: `http://127.0.0.1:${String(httpPort)}`, deviceUrl: `https://127.0.0.1:${String(devicePort)}`, mqttUrl: `mqtts://127.0.0.1:${String(mqttPort)}` };
    const server = await startServerProcess(
      dir,
      { ...env, OUTPOST_HTTP_PORT: String(httpPort), OUTPOST_DEVICE_PORT: String(devicePort), OUTPOST_MQTT_PORT: String(mqttPort), OUTPOST_INFLUX_URL: influx.url, OUTPOST_INFLUX_API: 'v1', OUTPOST_INFLUX_DB: 'single' },
      { timeoutMs: 300_000, urls },
    );
    try {
      const pid = server.child.pid ?? 0;
      const target: Target = { label: 'one --role all', mqttUrl: server.mqttUrl, influx: { url: influx.url, db: 'single' }, groups: [new ProcessGroup('outpost', () => [pid])] };
      const ids = Array.from({ length: fleetSize }, (_, i) => `s-${String(i).padStart(5, '0')}`);
      const fleet = await enrollBenchFleet(server, ids, { concurrency: config.enrollConcurrency, keyPool: config.keyPool, deadlineMs: 20 * 60_000, progress: (n, t) => say(`  single: enrolled ${String(n)}/${String(t)}`) });
      say(`single: ${String(fleetSize)} devices enrolled in ${fleet.seconds.toFixed(1)} s (setup, not measured; ${String(fleet.retries)} retries)`);
      try {
        single.load = await load(target, fleet.identities.slice(0, config.devices));
        say(`single: ${fmt(single.load.msgPerS)} msg/s, ${fmt(single.load.cpuUsPerMsg)} µs CPU/msg, ${fmt(single.load.pointsPerS)} points/s (${String(single.load.stored)}/${String(single.load.total)})`);
      } catch (err) {
        failures.push(`single load: ${(err as Error).message}`);
      }
      if (config.idle > 0) {
        try {
          const held = await idle(target, fleet.identities.slice(0, config.idle));
          single.idle = held;
          say(`single: ${String(held.sessions)} idle sessions in ${held.connectS.toFixed(1)} s (connects: ${tallyLine(held.tally)}), ${fmt(held.kibPerSession, 1)} KiB RSS each`);
          if (held.tally.failed > 0) failures.push(`single idle: ${String(held.tally.failed)} of ${String(config.idle)} devices never connected (${tallyLine(held.tally)})`);
          await Promise.all(connected(held.clients).map((c) => c.endAsync(true).catch(() => undefined)));
        } catch (err) {
          failures.push(`single idle: ${(err as Error).message}`);
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await influx.stop();
  }

  // ---- Three broker nodes + one control node behind HAProxy, on Redis, PostgreSQL and InfluxDB.
  const haproxyMaxconn = config.haproxyMaxconn > 0 ? config.haproxyMaxconn : Math.min(haproxyFit, Math.max(8_000, sessionsAtOnce + 1_000));
  const cluster = await startCluster({ brokers: 3, controls: 1, env, nodeTimeoutMs: 300_000, haproxyMaxConnections: haproxyMaxconn, progress: (m) => say(`cluster: ${m}`) });
  try {
    const brokerPids = (): number[] => cluster.nodes.filter((n) => n.role === 'broker').map((n) => n.process?.child.pid ?? 0);
    const controlPids = (): number[] => cluster.nodes.filter((n) => n.role === 'control').map((n) => n.process?.child.pid ?? 0);
    const [redisPids, postgresPids, haproxyPids] = await Promise.all([pidsListeningOn(cluster.redis.port), pidsListeningOn(cluster.postgres.port), pidsListeningOn(cluster.haproxy.mqttPort, '127.0.0.1')]);
    const groups = [
      new ProcessGroup('brokers', brokerPids),
      new ProcessGroup('control', controlPids),
      new ProcessGroup('redis', () => redisPids),
      new ProcessGroup('postgres', () => postgresPids),
      new ProcessGroup('haproxy', () => haproxyPids),
    ];
    say(`cluster: measuring ${groups.map((g) => g.name).join(', ')} (pids redis ${redisPids.join(',')}, postgres ${postgresPids.join(',')}, haproxy ${haproxyPids.join(',')})`);
    if (redisPids.length === 0 || postgresPids.length === 0 || haproxyPids.length === 0) failures.push('cluster: a service process was not found by its port (its CPU and RSS are missing)');
    const target: Target = { label: '3 brokers + HAProxy', mqttUrl: cluster.haproxy.mqttUrl, influx: { url: cluster.influx.url, db: cluster.influxDb }, groups };
    const ids = Array.from({ length: fleetSize }, (_, i) => `c-${String(i).padStart(5, '0')}`);
    const fleet = await enrollBenchFleet({ operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl }, ids, {
      concurrency: config.enrollConcurrency,
      keyPool: config.keyPool,
      deadlineMs: 20 * 60_000,
      progress: (n, t) => say(`  cluster: enrolled ${String(n)}/${String(t)}`),
    });
    say(`cluster: ${String(fleetSize)} devices enrolled through HAProxy in ${fleet.seconds.toFixed(1)} s (setup, not measured; ${String(fleet.retries)} retries)`);
    try {
      multi.load = await load(target, fleet.identities.slice(0, config.devices));
      say(`cluster: ${fmt(multi.load.msgPerS)} msg/s, ${fmt(multi.load.cpuUsPerMsg)} µs CPU/msg, ${fmt(multi.load.pointsPerS)} points/s (${String(multi.load.stored)}/${String(multi.load.total)})`);
    } catch (err) {
      failures.push(`cluster load: ${(err as Error).message}`);
    }
    if (config.idle > 0) {
      try {
        const redisBefore = await redisUsedMemory(cluster);
        const held = await idle(target, fleet.identities.slice(0, config.idle));
        multi.idle = held;
        multi.redisKibPerSession = ((await redisUsedMemory(cluster)) - redisBefore) / 1024 / Math.max(1, held.sessions);
        multi.spread = await haproxySessions(cluster);
        say(`cluster: ${String(held.sessions)} idle sessions in ${held.connectS.toFixed(1)} s (connects: ${tallyLine(held.tally)}), ${fmt(held.kibPerSession, 1)} KiB RSS each (all processes), spread ${JSON.stringify(multi.spread)}`);
        if (held.tally.failed > 0) failures.push(`cluster idle: ${String(held.tally.failed)} of ${String(config.idle)} devices never connected (${tallyLine(held.tally)})`);
        try {
          multi.storm = await storm(cluster, target, fleet.identities.slice(0, config.idle), held.clients);
          say(`cluster: storm — ${String(multi.storm.moved)} devices of ${multi.storm.victim} back in ${multi.storm.seconds.toFixed(1)} s (reconnect attempts that failed first: ${tallyLine(multi.storm.tally)}); spread after ${JSON.stringify(multi.storm.spreadAfter)}`);
        } catch (err) {
          failures.push(`cluster storm: ${(err as Error).message}`);
        }
        await Promise.all(connected(held.clients).map((c) => c.endAsync(true).catch(() => undefined)));
      } catch (err) {
        failures.push(`cluster idle: ${(err as Error).message}`);
      }
    }
  } finally {
    await cluster.stop();
  }
} catch (err) {
  failures.push(`setup: ${(err as Error).message.split('\n')[0] ?? ''}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

// ---- The table, side by side, and the one result line.
const group = (m: Map<string, number> | undefined, digits: number): string => (m === undefined ? '—' : [...m].map(([k, v]) => `${k} ${v.toFixed(digits)}`).join(', '));
row('QoS 1 msg/s (all PUBACKs)', fmt(single.load?.msgPerS), fmt(multi.load?.msgPerS));
row('CPU µs per message (all processes)', fmt(single.load?.cpuUsPerMsg), fmt(multi.load?.cpuUsPerMsg));
row('  of which, CPU s by process group', group(single.load?.byGroupCpuS, 1), group(multi.load?.byGroupCpuS, 1));
row('points/s into InfluxDB, end to end', fmt(single.load?.pointsPerS), fmt(multi.load?.pointsPerS));
row('points stored / sent', single.load === undefined ? '—' : `${String(single.load.stored)}/${String(single.load.total)}`, multi.load === undefined ? '—' : `${String(multi.load.stored)}/${String(multi.load.total)}`);
row('idle sessions held', fmt(single.idle?.sessions), fmt(multi.idle?.sessions));
row('idle connects retried / failed', single.idle === undefined ? '—' : `${String(single.idle.tally.retries)} / ${String(single.idle.tally.failed)}`, multi.idle === undefined ? '—' : `${String(multi.idle.tally.retries)} / ${String(multi.idle.tally.failed)}`);
row('idle connect time', single.idle === undefined ? '—' : `${single.idle.connectS.toFixed(1)} s`, multi.idle === undefined ? '—' : `${multi.idle.connectS.toFixed(1)} s`);
row('private RSS KiB per idle session (all processes)', fmt(single.idle?.kibPerSession, 1), fmt(multi.idle?.kibPerSession, 1));
row('  of which, KiB by process group', group(single.idle?.byGroupKib, 1), group(multi.idle?.byGroupKib, 1));
row('Redis used_memory KiB per idle session', '—', fmt(multi.redisKibPerSession, 2));
row('idle sessions per broker (HAProxy scur)', '—', multi.spread === undefined ? '—' : Object.entries(multi.spread).filter(([k]) => k.startsWith('broker_mqtt/')).map(([k, v]) => `${k.slice(12)} ${String(v)}`).join(', '));
row('reconnect storm after SIGKILL of a broker', '—', multi.storm === undefined ? '—' : `${String(multi.storm.moved)} devices of ${multi.storm.victim} back in ${multi.storm.seconds.toFixed(1)} s`);
row('  storm reconnect attempts that failed first', '—', multi.storm === undefined ? '—' : tallyLine(multi.storm.tally));
const widths = [0, 1, 2].map((i) => Math.max(...[['figure', 'one --role all', '3 brokers + control + HAProxy'], ...table].map((r) => (r[i] ?? '').length)));
say('');
for (const r of [['figure', 'one --role all', '3 brokers + control + HAProxy'], ...table]) say(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
say(`(load average ${load1AtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end; 2 cores: overhead, not speed-up; influxd's CPU is in neither column)`);
for (const f of failures) say(`FAILED: ${f}`);

const anchor = 'one --role all';
const vs = (name: string, unit: string, better: 'higher' | 'lower', clusterValue: number | undefined, singleValue: number | undefined): void =>
  void figures.push({ name, value: clusterValue ?? null, unit, better, anchor, anchorValue: singleValue ?? null, goal: '2 cores: overhead, not speed-up' });
vs('cluster QoS 1 msg/s (3 brokers + HAProxy)', 'msg/s', 'higher', multi.load?.msgPerS, single.load?.msgPerS);
vs('cluster CPU per message (nodes+Redis+PG+HAProxy)', 'µs', 'lower', multi.load?.cpuUsPerMsg, single.load?.cpuUsPerMsg);
vs('cluster end-to-end points/s into InfluxDB', 'points/s', 'higher', multi.load?.pointsPerS, single.load?.pointsPerS);
vs('cluster points lost', 'points', 'lower', multi.load === undefined ? undefined : multi.load.total - multi.load.stored, single.load === undefined ? undefined : single.load.total - single.load.stored);
vs('cluster RSS per idle session (all processes)', 'KiB', 'lower', multi.idle?.kibPerSession, single.idle?.kibPerSession);
figures.push({ name: 'cluster idle sessions held', value: multi.idle?.sessions ?? null, unit: 'sessions', goal: '9,900 (full profile: one HAProxy holds ≤ 9,968 under a 20,000 open-files limit)' });
figures.push({ name: 'cluster idle connects failed (after retries)', value: multi.idle?.tally.failed ?? null, unit: 'connects', better: 'lower', anchor, anchorValue: single.idle?.tally.failed ?? null });
figures.push({ name: 'cluster idle connects retried', value: multi.idle?.tally.retries ?? null, unit: 'connects', better: 'lower', anchor, anchorValue: single.idle?.tally.retries ?? null });
// Below Redis' own noise (idle devices subscribe to nothing here), the difference can come out negative: no figure then.
const redisPerSession = multi.redisKibPerSession !== undefined && multi.redisKibPerSession >= 0 ? multi.redisKibPerSession : null;
figures.push({ name: 'cluster Redis memory per idle session', value: redisPerSession, unit: 'KiB', better: 'lower' });
figures.push({ name: 'cluster reconnect storm devices moved', value: multi.storm?.moved ?? null, unit: 'devices' });
figures.push({ name: 'cluster reconnect storm, SIGKILL → all back', value: multi.storm?.seconds ?? null, unit: 's', better: 'lower' });
printResult({ bench: 'cluster', figures });
// Whatever a failed phase left open (an mqtt client, a timer) must not keep the bench alive.
process.exit(failures.length > 0 ? 1 : 0);
