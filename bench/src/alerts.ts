/**
 * Alert engine (issue 6): latency from spool append (what the broker does before it lets the
 * PUBACK go) to the stored AlertEvent, p50/p99, under a steady telemetry load with many active
 * rules; and rule evaluations per second. In-process: a real ingest spool (group-commit fsync),
 * the real state database (SQLite, WAL), the alerts module as the alerts part runs it (the
 * decode-once TelemetryRecords (telemetry) reading the spool, as from disk).
 *
 * Load: `rate` TelemetryBatches/s from `devices` devices, each with `metricsPerMsg` of
 * `metricCount` metrics; `rules` rules spread over those metrics (a tenth rate rules, a
 * third windowed), with bounds the load never crosses; plus one probe rule on one probe
 * device whose every `probeEvery`-th message (100) flips the value across its threshold — each probe message
 * is one transition, stored as an alert event, and its latency is measured.
 *
 * Besides p50/p99 it prints where a probe's time went — append → read by the engine (once the
 * spool wrote it, as the platform runs; `readWritten=0`: after its group-commit fsync), read →
 * stored (evaluation of the batch and its one transaction), and apart from them append → durable
 * — and the process's CPU time per message, which a loaded machine distorts far less than it
 * distorts the tail. Set TMPDIR=/dev/shm to take the disk's fsync out of the picture.
 * The engine's own time per spool read (evaluating, storing) comes from its histogram.
 *
 *   npm run build && node bench/dist/src/alerts.js [rate=5000] [rules=1000] [seconds=10] [devices=500] [metricCount=200] [metricsPerMsg=2] [probeEvery=100] [readWritten=1] [fsyncDelayMs=0]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runMigrations, type StateDatabase } from '@outpost/platform';
import type { AlertEvent, Rule, TelemetryBatch } from '@outpost/protocol';
import { openSpool, TelemetryRecords } from '@outpost/telemetry';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { pino } from 'pino';
import { benchRules } from './alert-rules.js';
import { printResult } from './result-line.js';

const rate = Number(process.argv[2] ?? 5000);
const ruleCount = Number(process.argv[3] ?? 1000);
const seconds = Number(process.argv[4] ?? 10);
const devices = Number(process.argv[5] ?? 500);
const metricCount = Number(process.argv[6] ?? 200);
const metricsPerMsg = Number(process.argv[7] ?? 2);
const probeEvery = Number(process.argv[8] ?? 100);
/** 1 (default, as the platform runs): the engine reads batches once written, before their fsync; 0: once durable. */
const readWritten = (process.argv[9] ?? '1') !== '0';
/** Added to every fsync of the spool, e.g. 20 for the slow fsync of an SD card (default 0: this disk as it is). */
const fsyncDelayMs = Number(process.argv[10] ?? 0);
const tickMs = 10;

// The alerts module and the state database opener are loaded
// from the built workspaces (bench does not depend on the parts' packages).
interface AlertsModuleLike {
  start(): Promise<void>;
  close(): Promise<void>;
  metrics(registry: Registry): void;
  onEvent(listener: (event: AlertEvent) => void): () => void;
  idle(): Promise<void>;
}
const alertsPath = new URL('../../../alerts/dist/src/alerts-module.js', import.meta.url).href;
const dbPath = new URL('../../../platform/dist/src/db/database.js', import.meta.url).href;
const { createAlertsModule, alertsMigrations } = (await import(alertsPath)) as {
  createAlertsModule(deps: unknown): AlertsModuleLike;
  alertsMigrations: Parameters<typeof runMigrations>[2];
};
const { openStateDatabase } = (await import(dbPath)) as { openStateDatabase(dir: string): { db: StateDatabase; close(): Promise<void> } };

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function makeRules(): Rule[] {
  const rules = benchRules(ruleCount, metricCount);
  rules.push({ v: 1, id: 'probe', name: 'probe', kind: 'threshold', scope: { devices: ['probe-dev'] }, metric: 'probe', condition: '>', threshold: 0, forMs: 0, severity: 'info', cooldownMs: 0, enabled: true });
  return rules;
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-alerts-'));
const state = openStateDatabase(join(dir, 'state'));
const spool = await openSpool(
  { dir: join(dir, 'spool'), consumers: ['alerts'] },
  fsyncDelayMs > 0 ? { sync: async (handle) => { await handle.datasync(); await new Promise((r) => setTimeout(r, fsyncDelayMs)); } } : {},
);
await runMigrations(state.db, 'alerts', alertsMigrations);
const rules = makeRules();
const at = Date.now();
const rulesTable = state.db.withTables<{ alerts_rules: { id: string; body: string; version: number; created_at: number; updated_at: number } }>();
for (const rule of rules) await rulesTable.insertInto('alerts_rules').values({ id: rule.id, body: JSON.stringify(rule), version: 1, created_at: at, updated_at: at }).execute();

// Where the time goes (stages of each probe): append → read (the engine took the record from the
// spool: once written, or once durable with readWritten=0), read → stored; and append → durable
// (the append resolved after the group-commit fsync).
const durableAt = new Map<number, number>();
const readAt = new Map<number, number>();
const telemetryRecords = new TelemetryRecords({ consumers: 1 });
const timedRecords: typeof telemetryRecords = Object.assign(Object.create(telemetryRecords) as typeof telemetryRecords, {
  recordsOf(entries: Parameters<typeof telemetryRecords.recordsOf>[0]) {
    const result = telemetryRecords.recordsOf(entries);
    const t = performance.now();
    for (const record of result.records) {
      if (record.deviceId !== 'probe-dev') continue;
      const value = record.batch.samples[0]?.metrics['probe'];
      if (typeof value === 'number') readAt.set(Math.abs(value), t);
    }
    return result;
  },
});

const log = pino({ level: 'warn' });
const module = createAlertsModule({
  db: state.db,
  secretKey: randomBytes(32),
  migrate: (part: string, migrations: Parameters<typeof runMigrations>[2]) => runMigrations(state.db, part, migrations),
  auth: {},
  audit: {},
  live: { publish: () => undefined },
  log,
  clock: { now: () => Date.now() },
  registry: { lookup: async (id: string) => ({ id, status: 'active', group: 'bench', tags: {} }), events: NEVER },
  maintenance: { isUpdating: () => false },
  spool,
  records: timedRecords,
  edgeAlerts: NEVER,
  publishMqtt: async () => undefined,
  options: { spoolMaxRecords: 500, spoolReadsWritten: readWritten },
});
const registry = new Registry();
module.metrics(registry);
await module.start();

const appendedAt = new Map<number, number>();
const latencies: number[] = [];
const stages = { durable: [] as number[], read: [] as number[], stored: [] as number[] };
module.onEvent((event) => {
  if (event.ruleId !== 'probe' || event.value === null) return;
  const started = appendedAt.get(Math.abs(event.value));
  if (started === undefined) return;
  const t = performance.now();
  latencies.push(t - started);
  const read = readAt.get(Math.abs(event.value));
  if (read !== undefined) {
    stages.read.push(read - started);
    stages.stored.push(t - read);
  }
});

const metricNames = Array.from({ length: metricCount }, (_, i) => `m${String(i)}`);
let seq = 0;
let probes = 0;
let sent = 0;
let refused = 0;
const probeTs0 = Date.now() - 60_000;
// In flight: a counter and one `then` per append, not a Set of promise chains — the harness's
// own bookkeeping (the Set, three chained promises per append) was over a tenth of what
// survived the scavenges (heap sampling), whose pauses set the tail it measures.
let inFlight = 0;
let drained: (() => void) | undefined;
const settled = (): void => {
  inFlight -= 1;
  if (inFlight === 0) drained?.();
};
const onRefused = (): void => {
  refused += 1;
  settled();
};
const onSent = (): void => {
  sent += 1;
  settled();
};
const perTick = (rate * tickMs) / 1000;
const evalsBefore = (await registry.getSingleMetric('outpost_alert_rule_evaluations_total')?.get())?.values[0]?.value ?? 0;
const cpuBefore = process.cpuUsage();
const started = performance.now();
let carry = 0;
for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
  const due = started + tick * tickMs;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  carry += perTick;
  const n = Math.floor(carry);
  carry -= n;
  for (let k = 0; k < n; k++) {
    seq += 1;
    let deviceId = `dev-${String(seq % devices)}`;
    const metrics: Record<string, number> = {};
    let ts = Date.now();
    if (seq % probeEvery === 0) {
      probes += 1;
      deviceId = 'probe-dev';
      // Alternates above/below the threshold: every probe message is one transition; |value| names it.
      metrics['probe'] = probes % 2 === 1 ? probes : -probes;
      ts = probeTs0 + probes;
    } else {
      for (let j = 0; j < metricsPerMsg; j++) metrics[metricNames[(seq * 7 + j * 13) % metricCount] ?? 'm0'] = (seq * 31 + j) % 100;
    }
    const batch: TelemetryBatch = { v: 1, seq, samples: [{ ts, metrics }] };
    const probe = deviceId === 'probe-dev' ? probes : undefined;
    if (probe !== undefined) appendedAt.set(probe, performance.now());
    inFlight += 1;
    const appended = spool.append({ deviceId, payload: JSON.stringify(batch) });
    if (probe === undefined) appended.then(onSent, onRefused);
    else
      appended.then(() => {
        durableAt.set(probe, performance.now());
        onSent();
      }, onRefused);
  }
}
if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
const elapsedS = (performance.now() - started) / 1000;
// CPU time of the whole process (appends + engine), robust to a loaded machine where wall-clock tails are not.
const cpu = process.cpuUsage(cpuBefore);
const cpuPerMsgUs = (cpu.user + cpu.system) / Math.max(1, sent);
// Let the engine catch up with what was appended, then stop the clock for the evaluation rate.
const drainDeadline = performance.now() + 60_000;
while (latencies.length < probes && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
await module.idle();
const totalS = (performance.now() - started) / 1000;
const evals = ((await registry.getSingleMetric('outpost_alert_rule_evaluations_total')?.get())?.values[0]?.value ?? 0) - evalsBefore;
const sorted = [...latencies].sort((a, b) => a - b);
// The append resolves after its group's fsync — with written reads, often after the alert event.
for (const [probe, at] of durableAt) {
  const appended = appendedAt.get(probe);
  if (appended !== undefined) stages.durable.push(at - appended);
}

console.log(`alerts benchmark: ${String(rules.length)} rules (${String(ruleCount)} + probe) over ${String(metricCount)} metrics, ${String(devices)} devices, target ${String(rate)} msg/s for ${String(seconds)} s, the engine reading ${readWritten ? 'written' : 'durable'} batches${fsyncDelayMs > 0 ? `, every fsync ${String(fsyncDelayMs)} ms longer` : ''}; Node ${process.version}`);
console.log(`  appended: ${String(sent)} batches in ${elapsedS.toFixed(1)} s = ${(sent / elapsedS).toFixed(0)} msg/s (${String(refused)} refused)`);
console.log(`  process CPU: ${cpuPerMsgUs.toFixed(1)} µs per message (appends and engine), ${((cpu.user + cpu.system) / 10_000 / elapsedS).toFixed(0)} % of a core`);
console.log(`  rule evaluations: ${String(evals)} in ${totalS.toFixed(1)} s = ${(evals / totalS).toFixed(0)} /s`);
console.log(`  append → alert event (${String(sorted.length)} of ${String(probes)} probe transitions): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)} ms`);
const stage = (list: number[]): string => {
  const ordered = [...list].sort((a, b) => a - b);
  return `p50 ${percentile(ordered, 50).toFixed(1)} / p99 ${percentile(ordered, 99).toFixed(1)} ms`;
};
console.log(`  stages: append → read by the engine ${stage(stages.read)}; read → stored ${stage(stages.stored)}; (append → durable ${stage(stages.durable)}${readWritten ? ', not waited for: the engine reads written batches' : ''})`);
// The engine's own time per spool read, from its histogram (p50/p99 as the bucket bound they fall under).
const readValues = (await registry.getSingleMetric('outpost_alert_read_duration_seconds')?.get())?.values ?? [];
const perRead = (label: string): string => {
  const of = (suffix: string) => readValues.filter((v) => (v as { readonly metricName?: string }).metricName === `outpost_alert_read_duration_seconds_${suffix}` && v.labels['stage'] === label);
  const count = of('count')[0]?.value ?? 0;
  if (count === 0) return `${label}: none`;
  const buckets = of('bucket').map((v) => ({ le: Number(v.labels['le']), n: v.value }));
  const bound = (q: number): string => {
    const le = buckets.find((b) => b.n >= q * count)?.le ?? Number.POSITIVE_INFINITY;
    return le === Number.POSITIVE_INFINITY ? '> 1 s' : `≤ ${String(le * 1000)} ms`;
  };
  return `${label} ${String(count)} reads, mean ${(((of('sum')[0]?.value ?? 0) / count) * 1000).toFixed(2)} ms, p50 ${bound(0.5)}, p99 ${bound(0.99)}`;
};
console.log(`  engine per spool read (outpost_alert_read_duration_seconds): ${perRead('evaluate')}; ${perRead('store')}`);
printResult({
  bench: 'alerts',
  figures: [
    { name: 'alert latency p50 (append → alert event)', value: percentile(sorted, 50), unit: 'ms', better: 'lower' },
    { name: 'alert latency p99 (append → alert event)', value: percentile(sorted, 99), unit: 'ms', better: 'lower', goal: '≤ 5 ms (issue 12)' },
    { name: 'rule evaluations', value: evals / totalS, unit: '/s', better: 'higher' },
    { name: 'process CPU per message (appends and engine)', value: cpuPerMsgUs, unit: 'µs', better: 'lower' },
    { name: 'alert probe transitions seen', value: sorted.length, unit: `of ${String(probes)}`, better: 'higher' },
  ],
});

await module.close();
await spool.close();
await state.close();
await rm(dir, { recursive: true, force: true });
