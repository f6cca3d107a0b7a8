import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceTimeoutMs, startServerProcess } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { openSpool, type SpoolEntry } from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, filter, scan, takeWhile, last } from 'rxjs';
import { connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { platformClient } from '@outpost/e2e';
import { telemetryBatch } from '../helpers/payloads.js';

const seqOf = (entry: SpoolEntry): number => (JSON.parse(entry.payload.toString('utf8')) as { seq: number }).seq;

describe('broker: a PUBACK means the batch is in the ingest spool', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    // A consumer of the test's own: ingest and alerts move their cursors as they work.
    env = await startBrokerPlatform({ broker: { spoolConsumers: ['ingest', 'alerts', 'test'] } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('appends every acknowledged batch, and no refused one, before the PUBACK', async () => {
    const device = await env.enroll('spool-device');
    const client = await connectDevice(env.mqttUrl, device);
    const count = 50;
    await Promise.all(Array.from({ length: count }, (_, i) => client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(i + 1)), { qos: 1 })));
    await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(999, { time: 1 })), { qos: 1 });
    const stats = env.broker.provides.ingestSpool.stats();
    expect(stats.lastSeq).toBe(count);
    const entries = await firstValueFrom(
      env.broker.provides.ingestSpool.read('test').pipe(
        scan((all, entry) => [...all, entry], [] as SpoolEntry[]),
        filter((all) => all.length === count),
      ),
    );
    expect(new Set(entries.map(seqOf))).toEqual(new Set(Array.from({ length: count }, (_, i) => i + 1)));
    expect(entries.every((e) => e.deviceId === device.deviceId)).toBe(true);
    expect(await env.metric('outpost_ingest_spool_last_seq')).toBe(count);
    expect(await env.metric('outpost_ingest_spool_depth_records', { consumer: 'test' })).toBe(count);
    await client.endAsync();
  });
});

describe('broker: SIGKILL right after a burst of QoS 1 publishes', () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'test', 'helpers', 'server-process.js');
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-sigkill-'));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged batch', async () => {
    expect(existsSync(script), `${script} is missing: run \`npx tsc -b broker\` first`).toBe(true);
    const server = await startServerProcess(dir, {}, { entry: [script, dir, JSON.stringify({ OUTPOST_LIMIT_MSGS_PER_S: '100000', OUTPOST_LIMIT_BYTES_PER_S: '1 GiB' }), JSON.stringify({ spoolConsumers: ['ingest', 'alerts', 'test'] })], timeoutMs: serviceTimeoutMs(30_000) });
    child = server.child;
    const urls = { operatorUrl: server.operatorUrl, deviceUrl: server.deviceUrl, mqttUrl: server.mqttUrl };
    const api = await platformClient(urls.operatorUrl, () => urls.deviceUrl);
    const device = await api.enroll('sigkill-device');
    const client = await connectDevice(urls.mqttUrl, device);

    const acked = new Set<number>();
    const total = 2_000;
    const killAfter = 500;
    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    for (let seq = 1; seq <= total; seq += 1) {
      client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(seq)), { qos: 1 }).then(
        () => {
          acked.add(seq);
          if (acked.size === killAfter) child?.kill('SIGKILL');
        },
        () => undefined,
      );
    }
    await exited;
    client.end(true);
    const ackedAtKill = new Set(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(killAfter);

    const spool = await openSpool({ dir: join(dir, 'data', 'spool'), consumers: ['ingest', 'alerts', 'test'] });
    try {
      const lastSeq = spool.stats().lastSeq;
      const stored = await firstValueFrom(
        spool.read('test').pipe(
          scan((all, entry) => all.add(seqOf(entry)) && all, new Set<number>()),
          takeWhile((all) => all.size < lastSeq, true),
          last(),
        ),
      );
      const missing = [...ackedAtKill].filter((seq) => !stored.has(seq));
      expect(missing).toEqual([]);
      console.log(`SIGKILL after ${ackedAtKill.size} PUBACKs of ${total} publishes: ${stored.size} batches in the spool, ${missing.length} acknowledged batches missing`);
    } finally {
      await spool.close();
    }
  });
});
