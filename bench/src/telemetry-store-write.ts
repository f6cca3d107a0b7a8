/**
 * The embedded SQLite store's write cost per stored value (issue 12): what the ingest pipeline
 * pays in the broker's process for every sample × metric. Writes are shaped as ingest sends them:
 * spool reads of `read` TelemetryBatches (ingest's `maxRecords`, 500) of `samples` × `metrics`
 * numeric values from `devices` devices in turn, grouped by device and cut into writes of
 * `perWrite` points (ingest's `embeddedWritePoints`, 1,000), the event loop free between writes
 * (so the store's rollup timer runs as it does in the broker).
 *
 * - `shape=advancing`: each device's next batch follows its previous one in time (samples 1 s
 *   apart): new rows, new minutes — a fleet sending live data.
 * - `shape=replay`: every batch of a device carries the same timestamps (what `broker.js` sends):
 *   every row replaces one stored before.
 *
 * CPU is the process' user+system time over the measured writes plus the rollup work they leave
 * (a query at the end recomputes what is still pending), divided by the values stored. Each round
 * opens a fresh store in a temp dir; `warmup` writes first are not measured.
 *
 *   npx tsc -b bench && node bench/dist/src/telemetry-store-write.js [devices=200] [writes=300]
 *     [samples=10] [metrics=5] [read=500] [perWrite=1000] [shape=advancing|replay|both] [rounds=3] [warmup=30]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTelemetryStore, type TelemetryPoint, type TelemetryStore } from '@outpost/telemetry';

function parseArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`argument ${arg}: expected key=value`);
    out[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const num = (key: string, fallback: number): number => {
  const value = Number(args[key] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${key} must be a positive whole number, got ${String(args[key])}`);
  return value;
};
const config = {
  devices: num('devices', 200),
  writes: num('writes', 300),
  samples: num('samples', 10),
  metrics: num('metrics', 5),
  perWrite: num('perWrite', 1_000),
  read: num('read', 500),
  rounds: num('rounds', 3),
  warmup: Number(args['warmup'] ?? 30),
};
const shapeArg = args['shape'] ?? 'both';
if (!['advancing', 'replay', 'both'].includes(shapeArg)) throw new Error(`shape must be advancing, replay or both, got ${shapeArg}`);
type Shape = 'advancing' | 'replay';
const shapes: readonly Shape[] = shapeArg === 'both' ? ['advancing', 'replay'] : [shapeArg as Shape];

const SECOND = 1_000;
const metricNames = Array.from({ length: config.metrics }, (_, m) => `m${String(m)}`);
const deviceIds = Array.from({ length: config.devices }, (_, d) => `bench-${String(d).padStart(5, '0')}`);

/** The points of one batch of `device`, its `n`-th (0-based). */
function batchOf(shape: Shape, device: string, n: number, start: number): TelemetryPoint[] {
  const first = shape === 'advancing' ? start + n * config.samples * SECOND : start;
  const points: TelemetryPoint[] = [];
  for (let s = 0; s < config.samples; s += 1) {
    const metrics: Record<string, number> = {};
    for (let m = 0; m < config.metrics; m += 1) metrics[metricNames[m] as string] = 20 + s + m / 10 + (n % 7) / 100;
    points.push({ deviceId: device, ts: first + s * SECOND, metrics });
  }
  return points;
}

/**
 * Successive store writes as ingest makes them: a spool read of `read` batches (the devices in
 * turn), its points grouped by device (a stable sort), cut into writes of `perWrite` points.
 */
function* writes(shape: Shape, start: number): Generator<TelemetryPoint[]> {
  let turn = 0;
  for (;;) {
    const points: TelemetryPoint[] = [];
    for (let b = 0; b < config.read; b += 1, turn += 1) {
      points.push(...batchOf(shape, deviceIds[turn % config.devices] as string, Math.floor(turn / config.devices), start));
    }
    points.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    for (let at = 0; at < points.length; at += config.perWrite) yield points.slice(at, at + config.perWrite);
  }
}

const yieldLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface RoundResult {
  readonly usPerValue: number;
  readonly usPerBatch: number;
  readonly valuesPerSecond: number;
  readonly fileBytes: number;
  readonly walBytes: number;
  /** Share of the CPU spent in the kernel (writes to the WAL and the file, fsyncs at checkpoints). */
  readonly systemShare: number;
}

async function round(shape: Shape): Promise<RoundResult> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-store-write-'));
  const file = join(dir, 'telemetry.sqlite');
  const store: TelemetryStore = await openTelemetryStore({ embeddedFile: file, deadLetterFile: join(dir, 'dead-letters.jsonl'), retentionDays: 3_650 });
  try {
    // Days back, so a long run stays in the past and inside retention.
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 86_400_000;
    const source = writes(shape, start);
    const next = (): TelemetryPoint[] => source.next().value as TelemetryPoint[];
    for (let w = 0; w < config.warmup; w += 1) {
      await store.write(next(), { validated: true });
      await yieldLoop();
    }
    // Leave no rollup work of the warm-up for the measured part.
    await store.range({ deviceId: deviceIds[0] as string, metric: 'm0', from: start, to: start + 60_000, everyMs: 60_000, fn: 'mean' });
    const prepared = Array.from({ length: config.writes }, next);
    let values = 0;
    for (const write of prepared) for (const point of write) values += Object.keys(point.metrics).length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const write of prepared) {
      await store.write(write, { validated: true });
      await yieldLoop();
    }
    // The rollup work the writes left: a query recomputes every pending minute first.
    await store.range({ deviceId: deviceIds[0] as string, metric: 'm0', from: start, to: start + 60_000, everyMs: 60_000, fn: 'mean' });
    const seconds = (performance.now() - t0) / 1_000;
    const cpu = process.cpuUsage(cpu0);
    const us = cpu.user + cpu.system;
    const fileBytes = (await stat(file)).size;
    const walBytes = (await stat(`${file}-wal`).catch(() => ({ size: 0 }))).size;
    return { usPerValue: us / values, usPerBatch: (us / values) * config.samples * config.metrics, valuesPerSecond: values / seconds, fileBytes, walBytes, systemShare: cpu.system / us };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(
  `embedded store writes: ${config.writes} writes of ${config.perWrite} points (${config.samples}×${config.metrics} batches from ${config.devices} devices, reads of ${config.read} batches), ` +
    `${config.warmup} warm-up writes, ${config.rounds} rounds; node ${process.version}; load ${load()}`,
);
for (const shape of shapes) {
  const results: RoundResult[] = [];
  for (let r = 0; r < config.rounds; r += 1) {
    const result = await round(shape);
    results.push(result);
    console.log(
      `  ${shape.padEnd(9)} round ${r + 1}: ${result.usPerValue.toFixed(3)} µs CPU per value (${result.usPerBatch.toFixed(1)} µs per ${config.samples}×${config.metrics} batch, ${Math.round(result.systemShare * 100)} % system), ` +
        `${Math.round(result.valuesPerSecond).toLocaleString('en')} values/s, file ${(result.fileBytes / 1_048_576).toFixed(1)} MiB + WAL ${(result.walBytes / 1_048_576).toFixed(1)} MiB; load ${load()}`,
    );
  }
  const us = median(results.map((r) => r.usPerValue));
  console.log(`${shape.padEnd(9)} median ${us.toFixed(3)} µs CPU per value, ${(us * config.samples * config.metrics).toFixed(1)} µs per ${config.samples}×${config.metrics} batch`);
}
