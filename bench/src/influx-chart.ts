/**
 * InfluxDB long-range chart: raw points vs the 1-minute rollup (issue 12 goal: 30 days of 1 Hz in
 * ≤ 100 ms quiet, ≤ 300 ms under load). One device's `days` of 1 Hz go in as line protocol
 * (the fast way), then the same InfluxDB 1.x database is read by two stores: one with the rollup
 * off (raw scan) and one with it on (after its backfill, which is timed). Each chart asks
 * mean/max/count/last with ~1,000 buckets (1 point per pixel, whole minutes: the minute
 * rollup) over `days` and 7 days, with the dashboard's automatic bucket for `days` (a round
 * size for ~400 points: 2 h for 30 d, read from the hour rollup) and with 30 min (the
 * 10-minute rollup), quiet and then
 * while `writers` connections keep writing 5,000-line bodies of 100 other devices' live points
 * as fast as influxd takes them. Prints medians, maxima and the raw/rollup ratio, and checks the
 * two answers agree. Also the rollup's cost to writes: a day of old points (a backlog or a spool
 * drain, below the watermark: each write recomputes its minutes) and of live points, through
 * `write()` with the rollup off and on.
 *
 *   npx tsc -b bench && node bench/dist/src/influx-chart.js [days=30] [writers=3] [repeats=5]
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd, waitFor } from '@outpost/e2e';
import { openInfluxTelemetryStore, queryInfluxQL, type AggregateFn, type InfluxTelemetryStore, type SeriesPoint, type TelemetryPoint } from '@outpost/telemetry';
import { writeLinesRaw } from './line-protocol-ceiling.js';

const days = Number(process.argv[2] ?? 30);
const writers = Number(process.argv[3] ?? 3);
const repeats = Number(process.argv[4] ?? 5);

const SECOND = 1_000;
const MINUTE = 60_000;
const DAY = 86_400_000;
const DEVICE = 'bench-0001';
const METRIC = 'temp';
const PIXELS = 1_000;
const end = Math.floor(Date.now() / SECOND) * SECOND;
const start = end - days * DAY;
const total = (end - start) / SECOND;

function valueAt(ts: number): number {
  return Math.round((20 + 5 * Math.sin((2 * Math.PI * ts) / DAY) + ((ts / SECOND) % 17) * 0.1) * 100) / 100;
}

const HOUR = 60 * MINUTE;

/** Whole minutes giving about PIXELS buckets (the rollup serves whole-minute buckets). */
function pixelEvery(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / PIXELS / MINUTE)) * MINUTE;
}

/** The dashboard's automatic bucket: the smallest round size giving at most 400 points. */
const ROUND = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY];
function autoEvery(windowMs: number): number {
  return ROUND.find((size) => Math.ceil(windowMs / size) <= 400) ?? DAY;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface Timing {
  readonly median: number;
  readonly max: number;
  readonly points: SeriesPoint[];
}

async function time(run: () => Promise<SeriesPoint[]>): Promise<Timing> {
  const times: number[] = [];
  let points: SeriesPoint[] = [];
  for (let r = 0; r < repeats; r += 1) {
    const t0 = performance.now();
    points = await run();
    times.push(performance.now() - t0);
  }
  return { median: median(times), max: Math.max(...times), points };
}

/** Largest relative difference between two answers (Infinity when their buckets differ). */
function difference(a: readonly SeriesPoint[], b: readonly SeriesPoint[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  a.forEach((point, index) => {
    const other = b[index];
    if (other === undefined || other.ts !== point.ts) worst = Number.POSITIVE_INFINITY;
    else worst = Math.max(worst, Math.abs(Number(point.value) - Number(other.value)) / Math.max(1, Math.abs(Number(other.value))));
  });
  return worst;
}

const CHARTS = [
  { label: `${days} d`, ms: days * DAY, everyMs: pixelEvery(days * DAY) },
  { label: `${days} d`, ms: days * DAY, everyMs: autoEvery(days * DAY) },
  // The bucket of the 250 ms figure (telemetry-store.js: 1,441 points of 30 min; the 10-minute rollup).
  { label: `${days} d`, ms: days * DAY, everyMs: 30 * MINUTE },
  ...(days > 7 ? [{ label: '7 d', ms: 7 * DAY, everyMs: pixelEvery(7 * DAY) }] : []),
];
const FNS: readonly AggregateFn[] = ['mean', 'max', 'count', 'last'];

async function charts(condition: string, raw: InfluxTelemetryStore, rolled: InfluxTelemetryStore): Promise<{ worstRolled: number; worstRaw: number }> {
  let worstRolled = 0;
  let worstRaw = 0;
  for (const window of CHARTS) {
    const from = end - window.ms;
    const everyMs = window.everyMs;
    for (const fn of FNS) {
      // Through `now`, so the current minutes come from raw points: what a dashboard asks.
      const query = { deviceId: DEVICE, metric: METRIC, from, to: Date.now() + MINUTE, everyMs, fn };
      const r = await time(() => raw.range(query));
      const u = await time(() => rolled.range(query));
      worstRolled = Math.max(worstRolled, u.median);
      worstRaw = Math.max(worstRaw, r.median);
      const diff = difference(u.points, r.points);
      console.log(
        `${condition.padEnd(10)} chart ${window.label.padStart(4)} every ${String(everyMs / MINUTE).padStart(3)} min ${fn.padEnd(5)}: ${String(u.points.length).padStart(4)} points; ` +
          `raw median ${r.median.toFixed(1)} ms (max ${r.max.toFixed(1)}), rollup median ${u.median.toFixed(1)} ms (max ${u.max.toFixed(1)}) = ${(r.median / u.median).toFixed(1)}× faster; ` +
          `answers differ by ${diff === 0 ? '0' : diff.toExponential(1)}`,
      );
      if (!(diff < 1e-9)) throw new Error(`the rollup answer differs from the raw one (${diff}) for ${fn} over ${window.label}`);
    }
  }
  return { worstRolled, worstRaw };
}

/** 1 Hz points of `devices` devices (`prefix`-N) for `seconds` from `from`, in calls of 50,000 as ingest sends them. */
function* batches(prefix: string, devices: number, from: number, seconds: number): Generator<TelemetryPoint[]> {
  let batch: TelemetryPoint[] = [];
  for (let d = 0; d < devices; d += 1) {
    for (let ts = from; ts < from + seconds * SECOND; ts += SECOND) {
      batch.push({ deviceId: `${prefix}-${String(d).padStart(4, '0')}`, ts, metrics: { [METRIC]: valueAt(ts) } });
      if (batch.length === 50_000) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/** points/s of `write()` for the batches given. */
async function writeRate(store: InfluxTelemetryStore, calls: Iterable<TelemetryPoint[]>): Promise<number> {
  const t0 = performance.now();
  let written = 0;
  for (const batch of calls) written += (await store.write(batch)).written;
  // What ingest waits for before it moves the spool's cursor: the rollup of late points too.
  await store.sync();
  return written / ((performance.now() - t0) / 1000);
}

/** Writes live points of 100 other devices as fast as influxd takes them until stopped; returns points/s. */
function startLoad(influxUrl: string, db: string, connections: number): { stop(): Promise<number> } {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let running = true;
  let points = 0;
  const t0 = performance.now();
  const post = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(`${influxUrl}/write?db=${encodeURIComponent(db)}&precision=ms`, { method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  let clock = Date.now() - 5 * MINUTE;
  const workers = Array.from({ length: connections }, async () => {
    while (running) {
      const lines: string[] = [];
      for (let k = 0; k < 5_000; k += 1) {
        if (k % 100 === 0) clock += 1;
        lines.push(`telemetry,device=load-${String(k % 100).padStart(4, '0')} ${METRIC}=${(k % 50) * 0.5} ${clock}`);
      }
      const status = await post(lines.join('\n'));
      if (status !== 204) throw new Error(`load write answered ${status}`);
      points += 5_000;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      return points / ((performance.now() - t0) / 1000);
    },
  };
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-influx-chart-'));
const influx = await startInfluxd();
try {
  console.log(`InfluxDB chart: ${days} days of 1 Hz for one device = ${total.toLocaleString('en')} points, ~${PIXELS} buckets a chart; ${repeats} runs per query; influxd ${influx.version}`);
  const db = 'bench';
  await queryInfluxQL({ url: influx.url }, `CREATE DATABASE "${db}" WITH DURATION ${(days + 5) * 24}h`);
  function* lines(): Generator<string> {
    for (let ts = start; ts < end; ts += SECOND) yield `telemetry,device=${DEVICE} ${METRIC}=${valueAt(ts)} ${ts}`;
  }
  const seconds = await writeLinesRaw(influx.url, db, lines(), 3);
  console.log(`loaded in ${seconds.toFixed(1)} s (${Math.round(total / seconds).toLocaleString('en')} points/s, line protocol, 3 connections)`);

  const common = { url: influx.url, api: 'v1' as const, db, retentionDays: days + 5, timeoutMs: 120_000 };
  const raw = await openInfluxTelemetryStore({ ...common, deadLetterFile: join(dir, 'dead-raw.jsonl'), rollup: false });
  const t0 = performance.now();
  const rolled = await openInfluxTelemetryStore({ ...common, deadLetterFile: join(dir, 'dead-rollup.jsonl') });
  try {
    const horizon = Math.floor((Date.now() - 2 * MINUTE) / MINUTE) * MINUTE;
    await waitFor(() => (rolled.rollupStatus()?.coveredTo ?? 0) >= horizon, { description: 'the rollup backfill', timeoutMs: 30 * MINUTE, intervalMs: 50 });
    const status = rolled.rollupStatus();
    console.log(`rollup backfill: ${((performance.now() - t0) / 1000).toFixed(1)} s for ${days} days (${status?.passes ?? 0} statements of 1 h), from ${status?.startedFrom ?? '?'}`);

    // Off and on alternate, twice each, the better run of each counts (the machine's noise is large).
    const best = async (run: (store: InfluxTelemetryStore, round: number) => Iterable<TelemetryPoint[]>): Promise<{ off: number; on: number; late: number }> => {
      let off = 0;
      let on = 0;
      const lateBefore = rolled.rollupStatus()?.lateWrites ?? 0;
      for (let round = 0; round < 2; round += 1) {
        off = Math.max(off, await writeRate(raw, run(raw, round)));
        on = Math.max(on, await writeRate(rolled, run(rolled, round)));
      }
      return { off, on, late: (rolled.rollupStatus()?.lateWrites ?? 0) - lateBefore };
    };
    const name = (store: InfluxTelemetryStore, round: number, what: string): string => `${what}-${store === raw ? 'off' : 'on'}-${round}`;
    // A backlog: one device's day of old points (below the watermark: each call recomputes its minutes).
    const old = await best((store, round) => batches(name(store, round, 'old'), 1, start + DAY, 86_400));
    // Live: 1,000 devices' current minute, above the watermark (the periodic pass rolls it up later).
    const live = await best((store, round) => batches(name(store, round, 'live'), 1_000, Math.floor(Date.now() / MINUTE) * MINUTE, 60));
    const rate = (value: number): string => Math.round(value).toLocaleString('en');
    console.log(
      `write(), 50,000 points a call, best of 2: a day of one device's old points ${rate(old.off)} points/s with the rollup off vs ${rate(old.on)} on (${(old.on / old.off).toFixed(2)}×, ${old.late} calls recomputed minutes); ` +
        `a minute of 1,000 devices' live points ${rate(live.off)} vs ${rate(live.on)} (${(live.on / live.off).toFixed(2)}×, ${live.late} calls recomputed minutes)`,
    );

    const quiet = await charts('quiet', raw, rolled);
    const load = startLoad(influx.url, db, writers);
    let loaded: { worstRolled: number; worstRaw: number };
    try {
      loaded = await charts('under load', raw, rolled);
    } finally {
      const rate = await load.stop();
      console.log(`load: ${writers} connections writing ${Math.round(rate).toLocaleString('en')} points/s of 100 other devices while the loaded charts ran`);
    }
    console.log(
      `worst median: quiet raw ${quiet.worstRaw.toFixed(1)} ms vs rollup ${quiet.worstRolled.toFixed(1)} ms (goal ≤ 100 ms); ` +
        `under load raw ${loaded.worstRaw.toFixed(1)} ms vs rollup ${loaded.worstRolled.toFixed(1)} ms (goal ≤ 300 ms)`,
    );
  } finally {
    await rolled.close();
    await raw.close();
  }
} finally {
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
}
