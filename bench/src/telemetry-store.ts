/**
 * TelemetryStore chart queries over 30 days of 1 Hz data for one device (2.6 M points), both
 * adapters (goal ≤ 300 ms per chart), with `every` chosen so a chart has ≤ ~2,000 points; and the
 * raw line-protocol write ceiling of the same influxd (5,000-line batches over N connections),
 * which also loads InfluxDB's copy of the data. The embedded store is loaded through its own
 * `write` (10,000 points a call), and the InfluxDB store's `write` is timed on a tenth as much
 * (50,000 points a call, as the ingest pipeline sends 500 batches of 100 samples). `latest` and
 * `metrics` of the device are timed too. The InfluxDB store keeps a minute/hour rollup (ADR 0008):
 * its backfill of the loaded days is timed, and its charts run once it is done (raw scans vs the
 * rollup side by side: influx-chart.js).
 *
 *   npx tsc -b bench && node bench/dist/src/telemetry-store.js [days=30] [connections=3] [repeats=5] [embedded]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd, waitFor } from '@outpost/e2e';
import { writeLinesRaw } from './line-protocol-ceiling.js';
import { openTelemetryStore, queryInfluxQL, type AggregateFn, type InfluxTelemetryStore, type TelemetryPoint, type TelemetryStore } from '@outpost/telemetry';

type RollupStatus = ReturnType<InfluxTelemetryStore['rollupStatus']>;

const days = Number(process.argv[2] ?? 30);
const connections = Number(process.argv[3] ?? 3);
const repeats = Number(process.argv[4] ?? 5);
/** `embedded`: the embedded store alone (no influxd started). */
const only = process.argv[5];

const SECOND = 1_000;
const DAY = 86_400_000;
const DEVICE = 'bench-0001';
const METRIC = 'temp';
const end = Math.floor(Date.now() / 60_000) * 60_000;
const start = end - days * DAY;
const total = (end - start) / SECOND;

/** A smooth daily cycle with some wobble: what a temperature sensor sends. */
function valueAt(ts: number): number {
  return Math.round((20 + 5 * Math.sin((2 * Math.PI * ts) / DAY) + ((ts / SECOND) % 17) * 0.1) * 100) / 100;
}

const NICE_EVERY = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400].map((s) => s * SECOND);

/** The smallest nice bucket width giving at most `maxPoints` buckets (the dashboard's auto `every`). */
function autoEvery(from: number, to: number, maxPoints = 2_000): number {
  return NICE_EVERY.find((every) => Math.ceil((to - from) / every) <= maxPoints) ?? DAY;
}

function* batches(deviceId: string, from: number, to: number, size: number): Generator<TelemetryPoint[]> {
  let batch: TelemetryPoint[] = [];
  for (let ts = from; ts < to; ts += SECOND) {
    batch.push({ deviceId, ts, metrics: { [METRIC]: valueAt(ts) } });
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function load(store: TelemetryStore, deviceId: string, from: number, to: number, perCall: number): Promise<number> {
  const t0 = performance.now();
  let points = 0;
  for (const batch of batches(deviceId, from, to, perCall)) points += (await store.write(batch)).written;
  return points / ((performance.now() - t0) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const WINDOWS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: `${days} d`, ms: days * DAY },
  { label: '7 d', ms: 7 * DAY },
  { label: '1 d', ms: DAY },
  { label: '1 h', ms: DAY / 24 },
];

async function timed(label: string, what: string, run: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r += 1) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  console.log(`${label.padEnd(9)} ${what}: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
}

async function charts(label: string, store: TelemetryStore): Promise<void> {
  await timed(label, 'latest(device)', () => store.latest(DEVICE));
  await timed(label, 'metrics(device)', () => store.metrics(DEVICE));
  for (const window of WINDOWS) {
    const from = end - window.ms;
    const everyMs = autoEvery(from, end);
    for (const fn of ['mean', 'max', 'last', 'count'] as AggregateFn[]) {
      const times: number[] = [];
      let points = 0;
      for (let r = 0; r < repeats; r += 1) {
        const t0 = performance.now();
        points = (await store.range({ deviceId: DEVICE, metric: METRIC, from, to: end, everyMs, fn })).length;
        times.push(performance.now() - t0);
      }
      const first = times[0] ?? Number.NaN;
      console.log(
        `${label.padEnd(9)} chart ${window.label.padStart(4)} every ${String(everyMs / SECOND).padStart(5)} s ${fn.padEnd(5)}: ${String(points).padStart(5)} points, median ${median(times).toFixed(1)} ms, first ${first.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`,
      );
    }
  }
}

/** Raw ceiling: the 30 days as line protocol, 5,000 lines a request, `connections` in parallel, straight to /write. */
async function rawCeiling(influxUrl: string, db: string): Promise<number> {
  function* lines(): Generator<string> {
    for (let ts = start; ts < end; ts += SECOND) yield `telemetry,device=${DEVICE} ${METRIC}=${valueAt(ts)} ${ts}`;
  }
  const seconds = await writeLinesRaw(influxUrl, db, lines(), connections);
  return total / seconds;
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-telemetry-'));
const influx = only === 'embedded' ? undefined : await startInfluxd();
try {
  console.log(`TelemetryStore: ${days} days of 1 Hz for one device = ${total.toLocaleString('en')} points; ${repeats} runs per query; influxd ${influx?.version ?? 'not started'}`);

  const embedded = await openTelemetryStore({
    embeddedFile: join(dir, 'telemetry.sqlite'),
    deadLetterFile: join(dir, 'dead-letters.jsonl'),
    retentionDays: days + 5,
  });
  try {
    const rate = await load(embedded, DEVICE, start, end, 10_000);
    console.log(`embedded  load through write(): ${Math.round(rate).toLocaleString('en')} points/s (10,000 points a call)`);
    await charts('embedded', embedded);
  } finally {
    await embedded.close();
  }

  if (influx !== undefined) {
    const db = 'bench';
    await queryInfluxQL({ url: influx.url }, `CREATE DATABASE "${db}" WITH DURATION ${(days + 5) * 24}h`);
    const ceiling = await rawCeiling(influx.url, db);
    console.log(`influxdb  raw line-protocol ceiling: ${Math.round(ceiling).toLocaleString('en')} points/s (${connections} connections, 5,000-line batches)`);
    const opened = performance.now();
    const store = await openTelemetryStore({
      influx: { url: influx.url, api: 'auto', db },
      embeddedFile: join(dir, 'unused.sqlite'),
      deadLetterFile: join(dir, 'dead-letters-influx.jsonl'),
      retentionDays: days + 5,
      maxSockets: connections,
    });
    try {
      const tenth = Math.floor(total / 10) * SECOND;
      const rate = await load(store, 'bench-0002', start, start + tenth, 50_000);
      console.log(
        `influxdb  store write(): ${Math.round(rate).toLocaleString('en')} points/s (${(tenth / SECOND).toLocaleString('en')} points, 50,000 a call as ingest sends them, one call at a time; ` +
          'old points, so each call also recomputes its minutes of the rollup)',
      );
      if (store.kind === 'influxdb-v1') {
        const status = (): RollupStatus => (store as InfluxTelemetryStore).rollupStatus();
        const horizon = Math.floor((Date.now() - 3 * 60_000) / 60_000) * 60_000;
        await waitFor(() => (status()?.coveredTo ?? 0) >= horizon, { description: 'the rollup backfill', timeoutMs: 30 * 60_000, intervalMs: 50 });
        console.log(`influxdb  rollup backfill of ${days} days: done ${((performance.now() - opened) / 1000).toFixed(1)} s after open (${status()?.passes ?? 0} steps of 1 h)`);
      }
      await charts('influxdb', store);
    } finally {
      await store.close();
    }
  }
} finally {
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
}
