/**
 * End-to-end MQTT → InfluxDB points/s (issue 5): simulated devices publish QoS 1 TelemetryBatches
 * of 100 samples over mTLS to `outpost server` (a child process, real influxd 1.6.7 behind it);
 * the clock stops when the last point is countable in InfluxDB. Side by side in the same run:
 * the raw line-protocol write ceiling of the same influxd (5,000-line batches over N parallel
 * connections, straight to /write), and the ratio of the two.
 *
 * Two runs on the same server, one after the other: **live** points (the last 100 s: what a fleet
 * sends as it measures; the goal figure) and a **backlog** (the same points a day old, as agents
 * send after an outage: below the rollup's watermark, so their minutes are recomputed too). For the
 * backlog it also prints when the spool's ingest cursor caught up: ingest moves it only once the
 * store's sync() resolved, i.e. once those minutes are rolled up.
 *
 *   npm run build && node bench/dist/src/ingest.js [devices=20] [batchesPerDevice=100] [samplesPerBatch=100] [metrics=5] [connections=3]
 *
 * OUTPOST_BENCH_ROLLUP=false runs the server without the InfluxDB rollup (OUTPOST_INFLUX_ROLLUP):
 * the backlog's points — and the live run's beyond the rollup's settle time (120 s: more than 120
 * batches per device) — lie below the rollup's watermark, so each write has their minutes
 * recomputed server side, and that share of influxd's work shows as the difference.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollDevices, startInfluxd, startServerProcess } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import mqtt from 'mqtt';
import { writeLinesRaw } from './line-protocol-ceiling.js';
import { printResult } from './result-line.js';

const devices = Number(process.argv[2] ?? 20);
const batchesPerDevice = Number(process.argv[3] ?? 100);
const samplesPerBatch = Number(process.argv[4] ?? 100);
const metricCount = Number(process.argv[5] ?? 5);
const connections = Number(process.argv[6] ?? 3);
const inFlight = 8;
const totalPoints = devices * batchesPerDevice * samplesPerBatch;
const metricNames = Array.from({ length: metricCount }, (_, i) => `m${String(i)}`);

/** Points in [from, to) ms (all of them by default). */
async function countPoints(url: string, db: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<number> {
  const result = await queryInfluxQL({ url, db }, `SELECT count("m0") FROM "telemetry" WHERE time >= ${String(from)}ms AND time < ${String(to)}ms`).catch(() => []);
  const value = result[0]?.series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

async function waitForCount(url: string, db: string, want: number, timeoutMs: number, from?: number, to?: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const have = await countPoints(url, db, from, to);
    if (have >= want || Date.now() > deadline) return have;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Raw ceiling: the same points as line protocol, 5,000 lines a request, `connections` in parallel. */
async function rawCeiling(influxUrl: string): Promise<{ pointsPerS: number; points: number }> {
  const db = 'ceiling';
  await queryInfluxQL({ url: influxUrl }, `CREATE DATABASE "${db}"`);
  const start = Date.now() - 86_400_000;
  function* lines(): Generator<string> {
    for (let d = 0; d < devices; d += 1) {
      for (let i = 0; i < batchesPerDevice * samplesPerBatch; i += 1) {
        const fields = metricNames.map((m, k) => `${m}=${(i % 1000) + k + 0.5}`).join(',');
        yield `telemetry,device=bench-${String(d).padStart(4, '0')} ${fields} ${String(start + i * 10)}`;
      }
    }
  }
  const seconds = await writeLinesRaw(influxUrl, db, lines(), connections);
  const counted = await waitForCount(influxUrl, db, totalPoints, 30_000);
  return { pointsPerS: counted / seconds, points: counted };
}

const influx = await startInfluxd();
const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-ingest-'));
try {
  console.log(`MQTT → InfluxDB: ${process.env['OUTPOST_BENCH_ROLLUP'] === 'false' ? '(rollup off) ' : ''}${devices} devices × ${batchesPerDevice} batches × ${samplesPerBatch} samples × ${metricCount} metrics = ${totalPoints.toLocaleString('en')} points (QoS 1, ${inFlight} in flight per device); influxd 1.6.7 at ${influx.url}`);
  const ceiling = await rawCeiling(influx.url);
  console.log(`raw line protocol ceiling: ${Math.round(ceiling.pointsPerS).toLocaleString('en')} points/s (${connections} connections, 5,000-line batches)`);

  const server = await startServerProcess(dir, {
    OUTPOST_INFLUX_URL: influx.url,
    OUTPOST_INFLUX_DB: 'outpost',
    OUTPOST_LIMIT_MSGS_PER_S: '100000',
    OUTPOST_LIMIT_BYTES_PER_S: '1 GiB',
    ...(process.env['OUTPOST_BENCH_ROLLUP'] === undefined ? {} : { OUTPOST_INFLUX_ROLLUP: process.env['OUTPOST_BENCH_ROLLUP'] }),
  }, {
    // Node flags for the server only, e.g. OUTPOST_BENCH_SERVER_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (as in broker.js).
    nodeFlags: (process.env['OUTPOST_BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== ''),
  });
  try {
    const ids = Array.from({ length: devices }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    const identities = await enrollDevices(server, ids);
    const clients = await Promise.all(
      identities.map((d) =>
        mqtt.connectAsync(server.mqttUrl, { clientId: d.deviceId, key: d.keyPem, cert: d.certPem, ca: d.caPem, clean: true, reconnectPeriod: 0, protocolVersion: 4 }),
      ),
    );
    const span = batchesPerDevice * samplesPerBatch * 10;
    interface Run {
      readonly seconds: number;
      readonly stored: number;
      readonly acked: number;
      readonly cpu: number;
      readonly caughtUp?: number;
    }
    // One run: every device publishes its batches (samples 10 ms apart from `start`) and the clock
    // stops when InfluxDB counts them all (and, with `waitCursor`, when ingest's cursor caught up).
    const run = async (start: number, waitCursor: boolean): Promise<Run> => {
      const payloads = identities.map((_, d) =>
        Array.from({ length: batchesPerDevice }, (_, b) =>
          JSON.stringify({
            v: 1,
            seq: b + 1,
            samples: Array.from({ length: samplesPerBatch }, (_, s) => {
              const i = b * samplesPerBatch + s;
              return { ts: start + i * 10, metrics: Object.fromEntries(metricNames.map((m, k) => [m, (i % 1000) + k + 0.5 + d])) };
            }),
          }),
        ),
      );
      const cpu0 = await server.cpuSeconds();
      const t0 = performance.now();
      await Promise.all(
        clients.map(async (client, d) => {
          const mine = payloads[d] ?? [];
          let next = 0;
          const topic = topics.telemetry(identities[d]?.deviceId ?? '');
          await Promise.all(
            Array.from({ length: inFlight }, async () => {
              while (next < mine.length) await client.publishAsync(topic, mine[next++] as string, { qos: 1 });
            }),
          );
        }),
      );
      const acked = (performance.now() - t0) / 1000;
      const stored = await waitForCount(influx.url, 'outpost', totalPoints, 120_000, start, start + span);
      const seconds = (performance.now() - t0) / 1000;
      if (stored < totalPoints) {
        // A shortfall: what ingest and the server said, so a stall can be told from a loss.
        const metrics = (await (await fetch(`${server.operatorUrl}/metrics`)).text()).split('\n').filter((l) => /^outpost_(ingest|telemetry)_/.test(l));
        console.log(`SHORTFALL: ${String(totalPoints - stored)} points missing after 120 s\n${metrics.join('\n')}\n--- server log (last 4 kB) ---\n${server.output().slice(-4096)}`);
      }
      const cpu = (await server.cpuSeconds()) - cpu0;
      if (!waitCursor) return { seconds, stored, acked, cpu };
      const deadline = Date.now() + 120_000;
      while ((await spoolDepth()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return { seconds, stored, acked, cpu, caughtUp: (performance.now() - t0) / 1000 };
    };
    const spoolDepth = async (): Promise<number> => {
      const text = await (await fetch(`${server.operatorUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('outpost_ingest_spool_depth_records'));
      return Number(line?.split(' ').pop() ?? Number.NaN);
    };
    const say = (name: string, r: Run): void => {
      const rate = r.stored / r.seconds;
      console.log(
        `${name}: ${r.stored.toLocaleString('en')} of ${totalPoints.toLocaleString('en')} points in InfluxDB in ${r.seconds.toFixed(1)} s = ${Math.round(rate).toLocaleString('en')} points/s = ${(rate / ceiling.pointsPerS).toFixed(2)}× raw (all PUBACKs after ${r.acked.toFixed(1)} s; server CPU ${(r.cpu / r.seconds).toFixed(2)} cores, ${((r.cpu * 1e6) / r.stored).toFixed(1)} µs per point)` +
          (r.caughtUp === undefined ? '' : `; ingest cursor caught up (late minutes rolled up) after ${r.caughtUp.toFixed(1)} s`),
      );
    };
    const live = await run(Date.now() - span, false);
    say('end to end, live points', live);
    const backlog = await run(Date.now() - 86_400_000, true);
    say('end to end, a day-old backlog', backlog);
    const rate = live.stored / live.seconds;
    const lost = 2 * totalPoints - live.stored - backlog.stored;
    console.log(`ratio end-to-end (live) / raw ceiling: ${(rate / ceiling.pointsPerS).toFixed(2)}× (goal ≥ 0.5×); backlog ${(backlog.stored / backlog.seconds / ceiling.pointsPerS).toFixed(2)}×; loss: ${String(lost)} points`);
    printResult({
      bench: 'ingest',
      figures: [
        { name: 'end-to-end ingest MQTT → InfluxDB', value: rate, unit: 'points/s', better: 'higher', anchor: 'raw influxd', anchorValue: ceiling.pointsPerS, goal: '≥ 0.5× raw influxd' },
        { name: 'end-to-end ingest of a day-old backlog', value: backlog.stored / backlog.seconds, unit: 'points/s', better: 'higher', anchor: 'raw influxd', anchorValue: ceiling.pointsPerS },
        { name: 'ingest server CPU per point', value: (live.cpu * 1e6) / live.stored, unit: 'µs', better: 'lower' },
        { name: 'ingest points lost', value: lost, unit: 'points', better: 'lower', goal: '0' },
      ],
    });
    await Promise.all(clients.map((c) => c.endAsync()));
  } finally {
    await server.stop();
  }
} finally {
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
}
