/**
 * What the InfluxDB 1.x rollup (ADR 0008) costs influxd per raw point, next to what writing the
 * point cost it. `devices` series of `metrics` float fields at 1 Hz over `minutes` go in as line
 * protocol (5,000-line bodies over 3 connections); then a store opened with the rollup on
 * backfills them — what each late write's minutes go through, and before session 29 every live
 * point once it settled: `SELECT count(*), sum(*), min(*), max(*), last(*) INTO telemetry_1m …
 * GROUP BY time(1m), *`, an hour per statement, then the 10 minutes and hours from the minutes.
 * Then the one-aggregate read `SELECT count(*) … GROUP BY time(1m), *` over the same range
 * alone: InfluxDB 1.x reads the points once per aggregate call, so this is what one pass over
 * them costs. Last, the same points written live through a second store's `write()` (its clock
 * moving with them) and rolled up by its periodic pass (every second here) as its clock moves past them: minute
 * rows from the tallies of what it wrote, checked by one `count(*)` pass (ADR 0008, session 29).
 *
 * Each phase is timed by the clock and by influxd's CPU (utime + stime from /proc; the bench
 * process only waits meanwhile).
 *
 *   npm run build && node bench/dist/src/influx-rollup-cost.js [devices=20] [minutes=180] [metrics=5]
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd, waitFor } from '@outpost/e2e';
import { openInfluxTelemetryStore, queryInfluxQL } from '@outpost/telemetry';
import type { TelemetryPoint } from '@outpost/telemetry';
import { writeLinesRaw } from './line-protocol-ceiling.js';
import { printResult } from './result-line.js';

const devices = Number(process.argv[2] ?? 20);
const minutes = Number(process.argv[3] ?? 180);
const metrics = Number(process.argv[4] ?? 5);
const SECOND = 1_000;
const MINUTE = 60_000;
/** The data ends this long ago: past the rollup's default settle time (2 min), so the backfill covers all of it. */
const END_AGO = 5 * MINUTE;
const TICKS_PER_S = 100;

/** CPU seconds of every influxd process (the bench starts one). */
async function influxdCpuSeconds(): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() !== 'influxd') continue;
      const fields = (await readFile(`/proc/${entry}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between readdir and read.
    }
  }
  return ticks / TICKS_PER_S;
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: number }> {
  const cpu0 = await influxdCpuSeconds();
  const t0 = performance.now();
  const result = await work();
  const seconds = (performance.now() - t0) / 1000;
  return { result, seconds, cpu: (await influxdCpuSeconds()) - cpu0 };
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-rollup-cost-'));
const influx = await startInfluxd();
try {
  const end = Math.floor((Date.now() - END_AGO) / MINUTE) * MINUTE;
  const start = end - minutes * MINUTE;
  const lineCount = devices * minutes * 60;
  const values = lineCount * metrics;
  console.log(
    `InfluxDB rollup cost: ${devices} series × ${minutes} min of 1 Hz × ${metrics} float fields = ${lineCount.toLocaleString('en')} lines, ${values.toLocaleString('en')} values; influxd ${influx.version}`,
  );
  const db = 'bench';
  await queryInfluxQL({ url: influx.url }, `CREATE DATABASE "${db}"`);
  const names = Array.from({ length: metrics }, (_, i) => `m${String(i)}`);
  const valueOf = (ts: number, d: number, i: number): number => ((ts / SECOND + d * 7 + i * 13) % 1000) / 10 + 0.25;
  const deviceOf = (d: number): string => `dev-${String(d).padStart(4, '0')}`;
  function* lines(): Generator<string> {
    for (let ts = start; ts < end; ts += SECOND) {
      for (let d = 0; d < devices; d++) yield `telemetry,device=${deviceOf(d)} ${names.map((name, i) => `${name}=${String(valueOf(ts, d, i))}`).join(',')} ${String(ts)}`;
    }
  }
  const write = await timed(() => writeLinesRaw(influx.url, db, lines(), 3));
  console.log(`  write: ${write.seconds.toFixed(2)} s, influxd CPU ${write.cpu.toFixed(2)} s (${Math.round(lineCount / write.seconds).toLocaleString('en')} lines/s)`);

  const store = await openInfluxTelemetryStore({ url: influx.url, api: 'v1', db, retentionDays: 30, timeoutMs: 600_000, deadLetterFile: join(dir, 'dead.jsonl') });
  let passes = 0;
  let liveCpu = Number.NaN;
  try {
    const rollup = await timed(() =>
      waitFor(() => (store.rollupStatus()?.coveredTo ?? 0) >= end, { description: 'the rollup backfill', timeoutMs: 30 * MINUTE, intervalMs: 20 }),
    );
    passes = store.rollupStatus()?.passes ?? 0;
    console.log(`  rollup (the periodic pass over those minutes, ${String(passes)} steps): ${rollup.seconds.toFixed(2)} s, influxd CPU ${rollup.cpu.toFixed(2)} s = ${(rollup.cpu / write.cpu).toFixed(2)}× the write's`);
    const range = `time >= ${String(start)}ms AND time < ${String(end)}ms`;
    const count = await timed(() => queryInfluxQL({ url: influx.url, db }, `SELECT count(*) FROM "telemetry" WHERE ${range} GROUP BY time(1m), * fill(none)`));
    console.log(`  one aggregate (count(*) per series and minute, read back): ${count.seconds.toFixed(2)} s, influxd CPU ${count.cpu.toFixed(2)} s = ${(count.cpu / write.cpu).toFixed(2)}× the write's`);

    // The same points live, through a store whose clock starts at them, then moves past them.
    let clock = start;
    const live = await openInfluxTelemetryStore({
      url: influx.url,
      api: 'v1',
      db: 'bench_live',
      retentionDays: 30,
      timeoutMs: 600_000,
      deadLetterFile: join(dir, 'dead-live.jsonl'),
      clock: { now: () => clock },
      rollup: { intervalMs: 1_000 },
    });
    try {
      await waitFor(() => live.rollupStatus()?.coveredTo !== undefined, { description: 'the live store\'s watermark', timeoutMs: 60_000, intervalMs: 20 });
      const points: TelemetryPoint[] = [];
      const viaStore = await timed(async () => {
        for (let ts = start; ts < end; ts += SECOND) {
          // The clock moves with the points (as a fleet sends them), so the periodic pass runs meanwhile.
          clock = ts;
          for (let d = 0; d < devices; d++) {
            const values: Record<string, number> = {};
            names.forEach((name, i) => (values[name] = valueOf(ts, d, i)));
            points.push({ deviceId: deviceOf(d), ts, metrics: values });
            if (points.length === 5_000) await live.write(points.splice(0));
          }
        }
        if (points.length > 0) await live.write(points.splice(0));
      });
      console.log(`  the same points live through write(): ${viaStore.seconds.toFixed(2)} s, influxd CPU ${viaStore.cpu.toFixed(2)} s`);
      clock = end + 3 * MINUTE;
      const tallied = await timed(() =>
        // What the passes during the writes did is counted with the writes; this is what was left.
        waitFor(() => (live.rollupStatus()?.coveredTo ?? 0) >= end, { description: 'the live rollup', timeoutMs: 30 * MINUTE, intervalMs: 20 }),
      );
      const status = live.rollupStatus();
      liveCpu = viaStore.cpu + tallied.cpu;
      console.log(
        `  the rest of their rollup from the tallies (${String(status?.talliedMinutes ?? 0)} series-minutes tallied in all, ${String(status?.recountedMinutes ?? 0)} recomputed): ${tallied.seconds.toFixed(2)} s, influxd CPU ${tallied.cpu.toFixed(2)} s`,
      );
      console.log(
        `  influxd CPU to write and roll up: live through the store ${liveCpu.toFixed(2)} s = ${(liveCpu / write.cpu).toFixed(2)}× the raw write's; raw write + SELECT … INTO ${(write.cpu + rollup.cpu).toFixed(2)} s = ${((write.cpu + rollup.cpu) / write.cpu).toFixed(2)}×`,
      );
    } finally {
      await live.close();
    }
    const perValue = (cpu: number): number => (cpu * 1e6) / values;
    printResult({
      bench: 'influx-rollup-cost',
      figures: [
        { name: 'influxd CPU per value: write', value: perValue(write.cpu), unit: 'µs', better: 'lower' },
        { name: 'influxd CPU per value: rollup (minute, 10 min, hour)', value: perValue(rollup.cpu), unit: 'µs', better: 'lower', anchor: 'the write', anchorValue: perValue(write.cpu) },
        { name: 'influxd CPU per value: one aggregate pass', value: perValue(count.cpu), unit: 'µs', better: 'lower', anchor: 'the write', anchorValue: perValue(write.cpu) },
        { name: 'influxd CPU per value: live write + rollup from tallies', value: perValue(liveCpu), unit: 'µs', better: 'lower', anchor: 'raw write + SELECT … INTO', anchorValue: perValue(write.cpu + rollup.cpu) },
      ],
    });
  } finally {
    await store.close();
  }
} finally {
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
}
