/**
 * Every bench in one run, each as its own child process, then one table (figure, Outpost, anchor,
 * ratio, goal) and one JSON line of everything, also written to bench/results/latest-<profile>.json
 * (issue 16 item 5). Exits non-zero when a bench failed, after printing the table all the same.
 *
 *   npm run build && node bench/dist/src/run-all.js [--profile quick|full] [--only broker,ingest,…]
 *     [--timeout-scale 1] [--out FILE]
 *
 * `quick` (what `npm run bench` runs) takes small sizes so the whole run stays within 10 minutes
 * on a 2-core machine; `full` (`npm run bench:full`) the sizes of the issues' goals. The anchors
 * are measured in the same run by the benches themselves: Debian mosquitto (broker.ts), the raw
 * influxd line-protocol ceiling (ingest.ts), a static https file server (ota-download.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderJson, renderTable, runPlans, stopRunning, type BenchPlan } from './runner.js';

type Profile = 'quick' | 'full';

interface BenchEntry {
  readonly bench: string;
  /** The built script, next to this one. */
  readonly file: string;
  readonly quick: readonly string[];
  readonly full: readonly string[];
  readonly quickTimeoutS: number;
  readonly fullTimeoutS: number;
  /** Benches another change adds later: skipped (said so) while their script is not built. */
  readonly optional?: boolean;
}

/** The benches, the anchor each measures against, and their sizes per profile (each bench's own argument form). */
const BENCHES: readonly BenchEntry[] = [
  // vs Debian mosquitto configured alike, same run: throughput, CPU/msg, idle session RSS, reconnect storm.
  { bench: 'broker', file: 'broker.js', quick: ['publishers=5', 'messages=300', 'idle=200', 'storm=200', 'persistence=0'], full: ['publishers=20', 'messages=2000', 'idle=1000', 'storm=5000', 'persistence=1', 'rounds=3'], quickTimeoutS: 240, fullTimeoutS: 1200 },
  // MQTT → InfluxDB end to end vs the raw influxd ceiling: devices, batches/device, samples/batch, metrics, connections.
  { bench: 'ingest', file: 'ingest.js', quick: ['10', '20', '100', '5', '3'], full: ['20', '100', '100', '5', '3'], quickTimeoutS: 120, fullTimeoutS: 900 },
  // influxd's CPU per value for the InfluxDB rollup (ADR 0008) next to the write's: series, minutes of 1 Hz, fields.
  { bench: 'influx-rollup-cost', file: 'influx-rollup-cost.js', quick: ['10', '60', '5'], full: ['20', '180', '5'], quickTimeoutS: 120, fullTimeoutS: 600 },
  // append → alert event latency at msg/s, rules, seconds.
  { bench: 'alerts', file: 'alerts.js', quick: ['2000', '1000', '5'], full: ['5000', '1000', '10'], quickTimeoutS: 90, fullTimeoutS: 300 },
  // The rule engine alone, the alerts bench's rules: rules, metrics, devices, msg/s of sample time, rounds, messages per round, warm-up rounds.
  { bench: 'rule-evaluation', file: 'rule-evaluation.js', quick: ['1000', '200', '500', '5000', '6', '40000', '4'], full: ['1000', '200', '500', '5000', '8', '50000', '3'], quickTimeoutS: 60, fullTimeoutS: 180 },
  // enrollments/s: devices, concurrency, pre-generated keys.
  { bench: 'enroll', file: 'enroll.js', quick: ['300', '16', '50'], full: ['10000', '16', '200'], quickTimeoutS: 150, fullTimeoutS: 900 },
  // OTA fan-out vs a static https server: devices, MiB, rounds, identities.
  { bench: 'ota-download', file: 'ota-download.js', quick: ['50', '10', '1', '20'], full: ['200', '50', '2', '50'], quickTimeoutS: 90, fullTimeoutS: 900 },
  // Chromium first render of the fleet page: devices, days of 1 Hz history.
  { bench: 'dashboard', file: 'dashboard.js', quick: ['10000', '1'], full: ['10000', '30'], quickTimeoutS: 300, fullTimeoutS: 1800 },
  // The agent's RSS and CPU at 10 and 100 metrics/s.
  { bench: 'agent-resources', file: 'agent-resources.js', quick: ['--duration', '15s', '--warmup', '5s'], full: ['--duration', '60s', '--warmup', '15s'], quickTimeoutS: 90, fullTimeoutS: 300 },
  // One --role all vs 3 brokers + control behind HAProxy (Redis, PostgreSQL, influxd): QoS 1 load, idle sessions, reconnect storm.
  // Quick: ~2 min on a loaded 2-core machine (two platforms start, two fleets enroll). Full: 9,900 idle sessions per side
  // (one HAProxy needs 2 descriptors per session: ≤ 9,968 under this machine's hard limit of 20,000 open files) and a
  // ~3,300-device storm (docs/scale-out.md has the time it took); each connect gets 60 s, the phases 15 min.
  { bench: 'cluster', file: 'cluster.js', quick: ['devices=10', 'batches=20', 'idle=100'], full: ['devices=60', 'batches=50', 'idle=9900', 'connect=100', 'keys=100', 'connectS=60', 'deadlineS=900'], quickTimeoutS: 600, fullTimeoutS: 3600 },
];

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    only: { type: 'string' },
    'timeout-scale': { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const profile = values.profile;
if (profile !== 'quick' && profile !== 'full') throw new Error(`--profile must be quick or full, got ${profile}`);
const scale = Number(values['timeout-scale']);
if (!Number.isFinite(scale) || scale <= 0) throw new Error(`--timeout-scale must be a positive number, got ${values['timeout-scale']}`);
const only = values.only === undefined ? undefined : new Set(values.only.split(',').map((s) => s.trim()));
if (only !== undefined) {
  const unknown = [...only].filter((name) => !BENCHES.some((b) => b.bench === name));
  if (unknown.length > 0) throw new Error(`--only: no bench named ${unknown.join(', ')} (benches: ${BENCHES.map((b) => b.bench).join(', ')})`);
}

const here = dirname(fileURLToPath(import.meta.url));
const plans: BenchPlan[] = [];
for (const entry of BENCHES) {
  if (only !== undefined && !only.has(entry.bench)) continue;
  const script = `${here}/${entry.file}`;
  if (entry.optional === true && !existsSync(script)) {
    console.log(`── ${entry.bench}: skipped (${entry.file} is not built)`);
    continue;
  }
  plans.push({
    bench: entry.bench,
    script,
    args: (profile as Profile) === 'quick' ? entry.quick : entry.full,
    timeoutMs: Math.round((profile === 'quick' ? entry.quickTimeoutS : entry.fullTimeoutS) * 1000 * scale),
  });
}

const interrupted = (signal: NodeJS.Signals): void => {
  stopRunning('SIGTERM');
  process.exitCode = 130;
  console.error(`run-all: ${signal}, benches stopped`);
  process.exit();
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

const report = await runPlans(profile, plans, (line) => console.log(line));
const json = renderJson(report);
const out = values.out ?? fileURLToPath(new URL(`../../results/latest-${profile}.json`, import.meta.url));
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${json}\n`);
console.log('');
console.log(renderTable(report));
console.log(`(written to ${out})`);
console.log(json);
if (report.results.some((r) => !r.ok)) process.exitCode = 1;
