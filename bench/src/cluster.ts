/**
 * One `--role all` process vs three broker nodes + one control node behind HAProxy (issue 15),
 * the same load on each, side by side in one run: QoS 1 telemetry msg/s (all PUBACKs), server
 * CPU per message (all Outpost processes together), end-to-end points/s into InfluxDB, RSS per
 * idle session, and a reconnect storm through HAProxy after SIGKILLing the busiest broker node.
 * This machine has 2 cores: the 3-node figures measure the cluster's overhead, not a speed-up.
 *
 *   npm run build && node bench/dist/src/cluster.js [devices=60] [batchesPerDevice=50] [samplesPerBatch=10] [idleSessions=300]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollDevices, startCluster, startInfluxd, startServerProcess, type DeviceIdentity } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import mqtt, { type MqttClient } from 'mqtt';

const devices = Number(process.argv[2] ?? 60);
const batchesPerDevice = Number(process.argv[3] ?? 50);
const samplesPerBatch = Number(process.argv[4] ?? 10);
const idleSessions = Number(process.argv[5] ?? 300);
const inFlight = 4;

interface Target {
  readonly label: string;
  readonly mqttUrl: string;
  readonly servername?: string;
  readonly influx: { url: string; db: string };
  pids(): number[];
}

async function procStat(pid: number): Promise<{ cpuS: number; rssMiB: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS: (Number(stat[11]) + Number(stat[12])) / 100, rssMiB: rssKiB / 1024 };
}

async function totals(target: Target): Promise<{ cpuS: number; rssMiB: number }> {
  const all = await Promise.all(target.pids().map((pid) => procStat(pid).catch(() => ({ cpuS: 0, rssMiB: 0 }))));
  return all.reduce((a, b) => ({ cpuS: a.cpuS + b.cpuS, rssMiB: a.rssMiB + b.rssMiB }), { cpuS: 0, rssMiB: 0 });
}

async function countPoints(influx: { url: string; db: string }, measurementFilter: string): Promise<number> {
  const result = await queryInfluxQL(influx, `SELECT count("m0") FROM "telemetry" WHERE "device" =~ /^${measurementFilter}/`).catch(() => []);
  const value = result[0]?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

function connect(target: Target, d: DeviceIdentity): Promise<MqttClient> {
  return mqtt.connectAsync(target.mqttUrl, { clientId: d.deviceId, key: d.keyPem, cert: d.certPem, ca: d.caPem, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 30_000, ...(target.servername === undefined ? {} : { servername: target.servername }) });
}

async function load(target: Target, identities: readonly DeviceIdentity[], prefix: string): Promise<string> {
  const clients = await Promise.all(identities.map((d) => connect(target, d)));
  const start = Date.now() - 7_200_000;
  const total = identities.length * batchesPerDevice * samplesPerBatch;
  const before = await totals(target);
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (client, d) => {
      const id = identities[d]?.deviceId ?? '';
      let next = 1;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next <= batchesPerDevice) {
            const seq = next++;
            const samples = Array.from({ length: samplesPerBatch }, (_, s) => ({ ts: start + seq * samplesPerBatch + s, metrics: { m0: s, m1: seq } }));
            await client.publishAsync(topics.telemetry(id), JSON.stringify({ v: 1, seq, samples }), { qos: 1 });
          }
        }),
      );
    }),
  );
  const ackedS = (performance.now() - t0) / 1000;
  let stored = 0;
  const deadline = Date.now() + 180_000;
  while (stored < total && Date.now() < deadline) {
    stored = await countPoints(target.influx, prefix);
    if (stored < total) await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = await totals(target);
  const messages = identities.length * batchesPerDevice;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return `${target.label.padEnd(22)} ${Math.round(messages / ackedS).toString().padStart(7)} msg/s  ${(((after.cpuS - before.cpuS) * 1e6) / messages).toFixed(0).padStart(6)} µs CPU/msg  ${Math.round(stored / seconds).toString().padStart(7)} points/s end to end  (${stored}/${total} points)`;
}

async function idle(target: Target, identities: readonly DeviceIdentity[]): Promise<string> {
  const before = await totals(target);
  const clients: MqttClient[] = [];
  for (let i = 0; i < idleSessions; i += 1) {
    const d = identities[i % identities.length];
    if (d === undefined) break;
    // The same identity cannot hold two sessions: idle sessions reuse identities in turns, one at a time per id.
    if (i >= identities.length) break;
    clients.push(await connect(target, d));
  }
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await totals(target);
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return `${target.label.padEnd(22)} ${(((after.rssMiB - before.rssMiB) * 1024) / clients.length).toFixed(1)} KiB RSS per idle session (${clients.length} sessions, all Outpost processes)`;
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-cluster-'));
const lines: string[] = [];
const influx = await startInfluxd();
try {
  // One process.
  const single = await startServerProcess(join(dir), { OUTPOST_INFLUX_URL: influx.url, OUTPOST_INFLUX_API: 'v1', OUTPOST_INFLUX_DB: 'single', OUTPOST_LIMIT_MSGS_PER_S: '100000' });
  try {
    const ids = Array.from({ length: Math.max(devices, idleSessions) }, (_, i) => `s-${String(i).padStart(5, '0')}`);
    const identities = await enrollDevices(single, ids);
    const target: Target = { label: 'one --role all', mqttUrl: single.mqttUrl, influx: { url: influx.url, db: 'single' }, pids: () => [single.child.pid ?? 0] };
    lines.push(await load(target, identities.slice(0, devices), 's-'));
    lines.push(await idle(target, identities));
  } finally {
    await single.stop();
  }
  // Three broker nodes + one control node behind HAProxy.
  const cluster = await startCluster({ brokers: 3, controls: 1, env: { OUTPOST_LIMIT_MSGS_PER_S: '100000' } });
  try {
    const ids = Array.from({ length: Math.max(devices, idleSessions) }, (_, i) => `c-${String(i).padStart(5, '0')}`);
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
    const target: Target = { label: '3 brokers + HAProxy', mqttUrl: cluster.haproxy.mqttUrl, influx: { url: cluster.influx.url, db: cluster.influxDb }, pids: () => cluster.nodes.map((n) => n.process?.child.pid ?? 0).filter((pid) => pid !== 0) };
    lines.push(await load(target, identities.slice(0, devices), 'c-'));
    lines.push(await idle(target, identities));
    // Reconnect storm: every device connected, the busiest broker SIGKILLed, time until all are back through HAProxy.
    const clients = await Promise.all(identities.map((d) => connect(target, d)));
    const sessions = await cluster.haproxy.sessions();
    const victim = ['broker-1', 'broker-2', 'broker-3'].sort((a, b) => (sessions[`broker_mqtt/${b}`] ?? 0) - (sessions[`broker_mqtt/${a}`] ?? 0))[0] ?? 'broker-1';
    const dropped: number[] = [];
    clients.forEach((c, i) => c.once('close', () => dropped.push(i)));
    const t0 = performance.now();
    await cluster.node(victim).kill();
    await new Promise((r) => setTimeout(r, 500));
    const moved = [...dropped];
    await Promise.all(
      moved.map(async (i) => {
        const d = identities[i];
        if (d === undefined) return;
        for (;;) {
          try {
            clients[i] = await connect(target, d);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }),
    );
    const stormS = (performance.now() - t0) / 1000;
    lines.push(`${'reconnect storm'.padEnd(22)} ${moved.length} devices of ${victim} back through HAProxy in ${stormS.toFixed(1)} s after SIGKILL`);
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  } finally {
    await cluster.stop();
  }
} finally {
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
}
console.log(`\ncluster bench: ${devices} devices × ${batchesPerDevice} QoS 1 batches × ${samplesPerBatch} samples; 2 cores shared by every process (noisy)`);
for (const line of lines) console.log(line);
