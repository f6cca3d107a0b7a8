/**
 * Fault tests of issue 5 against a real influxd 1.6.7: kill InfluxDB under load and restart it,
 * and SIGKILL the platform under load and restart it. Either way the exact number of samples
 * sent ends up in InfluxDB (InfluxQL count), none twice.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceTimeoutMs, startInfluxd, startServerProcess, type InfluxdHandle } from '@outpost/e2e';
import { topics, type TelemetryBatch } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { connectDevice } from '../helpers/mqtt-client.js';
import { platformClient, type DeviceCredentials } from '@outpost/e2e';
import { waitFor } from '../helpers/poll.js';

const DB = 'outpost_fault';
const SAMPLES_PER_BATCH = 5;

function batch(seq: number, start: number): TelemetryBatch {
  const samples = Array.from({ length: SAMPLES_PER_BATCH }, (_, i) => ({ ts: start + ((seq - 1) * SAMPLES_PER_BATCH + i) * 10, metrics: { temperature: seq + i / 10 } }));
  return { v: 1, seq, samples };
}

/** Stored sample count per device, by InfluxQL. */
async function storedCounts(influxUrl: string): Promise<Map<string, number>> {
  const result = await queryInfluxQL({ url: influxUrl, db: DB }, 'SELECT count("temperature") FROM "telemetry" GROUP BY "device"');
  const counts = new Map<string, number>();
  for (const series of result[0]?.series ?? []) {
    const device = series.tags?.['device'];
    const value = series.values[0]?.[1];
    if (device !== undefined && typeof value === 'number') counts.set(device, value);
  }
  return counts;
}

async function publishAll(client: MqttClient, deviceId: string, batches: readonly TelemetryBatch[], onAck: (seq: number) => void): Promise<void> {
  for (const b of batches) {
    await client.publishAsync(topics.telemetry(deviceId), JSON.stringify(b), { qos: 1 });
    onAck(b.seq);
  }
}

describe('ingest fault: InfluxDB killed under load, then restarted', () => {
  let influx: InfluxdHandle;
  let env: BrokerPlatform;

  beforeAll(async () => {
    influx = await startInfluxd();
    env = await startBrokerPlatform({
      env: { OUTPOST_INFLUX_URL: influx.url, OUTPOST_INFLUX_DB: DB, OUTPOST_LIMIT_MSGS_PER_S: '100000', OUTPOST_LIMIT_BYTES_PER_S: '1 GiB' },
      broker: { ingest: { maxWaitMs: 5, retryMinMs: 20, retryMaxMs: 250, warnIntervalMs: 1 } },
    });
  });
  afterAll(async () => {
    await env?.close();
    await influx?.stop();
  });

  it('stores exactly the samples sent, once each', { timeout: 120_000 }, async () => {
    const devices = await Promise.all(['fault-a', 'fault-b', 'fault-c', 'fault-d'].map((id) => env.enroll(id)));
    const clients = await Promise.all(devices.map((d) => connectDevice(env.mqttUrl, d)));
    const perDevice = 60;
    const start = Date.now() - 3_600_000;
    let acked = 0;
    let killed = false;
    let sawDegraded = false;
    const total = devices.length * perDevice;
    const onAck = (): void => {
      acked += 1;
      if (acked === Math.floor(total / 3) && !killed) {
        killed = true;
        void influx.kill();
      }
    };
    const all = devices.map(() => Array.from({ length: perDevice }, (_, i) => batch(i + 1, start)));
    // First two thirds with InfluxDB going down a third of the way in; PUBACKs keep coming (the spool holds the data).
    await Promise.all(devices.map((d, i) => publishAll(clients[i] as MqttClient, d.deviceId, (all[i] ?? []).slice(0, (perDevice * 2) / 3), onAck)));
    expect(killed).toBe(true);
    await waitFor(() => env.platform.readiness()['broker'] === 'degraded', { what: 'broker readiness degraded while InfluxDB is down', timeoutMs: 10_000 });
    sawDegraded = true;
    await influx.restart();
    await Promise.all(devices.map((d, i) => publishAll(clients[i] as MqttClient, d.deviceId, (all[i] ?? []).slice((perDevice * 2) / 3), onAck)));
    expect(acked).toBe(total);

    const counts = await waitFor(
      async () => {
        const now = await storedCounts(influx.url).catch(() => new Map<string, number>());
        return devices.every((d) => now.get(d.deviceId) === perDevice * SAMPLES_PER_BATCH) ? now : undefined;
      },
      { what: 'every sample in InfluxDB', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(total * SAMPLES_PER_BATCH);
    expect(sawDegraded).toBe(true);
    expect(await env.metric('outpost_ingest_retries_total')).toBeGreaterThan(0);
    await waitFor(() => env.platform.readiness()['broker'] === 'ok', { what: 'broker readiness ok again' });
    expect(env.logs.some((l) => l.level === 40 && String(l.msg).startsWith('ingest: telemetry store write failed'))).toBe(true);
    await Promise.all(clients.map((c) => c.endAsync()));
  });
});

describe('ingest fault: the platform SIGKILLed under load, then restarted', () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'test', 'helpers', 'server-process.js');
  let influx: InfluxdHandle;
  let dir: string;
  let child: ChildProcess | undefined;

  const startServer = async (): Promise<{ operatorUrl: string; deviceUrl: string; mqttUrl: string }> => {
    const extra = { OUTPOST_INFLUX_URL: influx.url, OUTPOST_INFLUX_DB: DB, OUTPOST_LIMIT_MSGS_PER_S: '100000', OUTPOST_LIMIT_BYTES_PER_S: '1 GiB' };
    const started = await startServerProcess(dir, {}, { entry: [script, dir, JSON.stringify(extra)], timeoutMs: serviceTimeoutMs(30_000) });
    child = started.child;
    return { operatorUrl: started.operatorUrl, deviceUrl: started.deviceUrl, mqttUrl: started.mqttUrl };
  };

  beforeAll(async () => {
    influx = await startInfluxd();
    dir = await mkdtemp(join(tmpdir(), 'outpost-ingest-sigkill-'));
  });
  afterEach(() => {
    child?.kill('SIGKILL');
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await influx?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing acknowledged and stores nothing twice', { timeout: 120_000 }, async () => {
    expect(existsSync(script), `${script} is missing: run \`npx tsc -b broker\` first`).toBe(true);
    const first = await startServer();
    const api = await platformClient(first.operatorUrl, () => first.deviceUrl);
    const device: DeviceCredentials = await api.enroll('sigkill-ingest');
    const client = await connectDevice(first.mqttUrl, device, { reconnectPeriod: 0 });
    const start = Date.now() - 3_600_000;
    const total = 600;
    const acked = new Set<number>();
    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    for (let seq = 1; seq <= total; seq += 1) {
      client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(batch(seq, start)), { qos: 1 }).then(
        () => {
          acked.add(seq);
          if (acked.size === 200) child?.kill('SIGKILL');
        },
        () => undefined,
      );
    }
    await exited;
    client.end(true);
    expect(acked.size).toBeGreaterThanOrEqual(200);

    // Restarted on the same data dir (new ports); the device resends what was never acknowledged, as an agent does.
    const second = await startServer();
    const again = await connectDevice(second.mqttUrl, device);
    const unacked = Array.from({ length: total }, (_, i) => i + 1).filter((seq) => !acked.has(seq));
    for (const seq of unacked) await again.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(batch(seq, start)), { qos: 1 });
    const counts = await waitFor(
      async () => {
        const now = await storedCounts(influx.url).catch(() => new Map<string, number>());
        return now.get(device.deviceId) === total * SAMPLES_PER_BATCH ? now : undefined;
      },
      { what: 'every sample in InfluxDB after the restart', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(counts.get(device.deviceId)).toBe(total * SAMPLES_PER_BATCH);
    console.log(`platform SIGKILL after ${acked.size} of ${total} PUBACKs; ${unacked.length} resent after restart; ${String(counts.get(device.deviceId))} samples in InfluxDB (expected ${total * SAMPLES_PER_BATCH})`);
    await again.endAsync();
  });
});
