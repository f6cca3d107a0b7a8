/**
 * Rollout bookkeeping for a large fleet (issue 13, Benchmark): the real rollout engine and store
 * on a real SQLite state database, with 10,000 simulated devices behind stand-in registry and
 * broker ports (nothing goes over the network). Prints: creating the rollout, OtaProgress
 * transitions stored per second (each awaited, as before a PUBACK), one gate evaluation (a tick
 * with health rules over every device), and starting a 9,000-device wave (jobs stored + published).
 *
 *   node bench/dist/src/rollouts.js [devices=10000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runMigrations, type StateDatabase } from '@outpost/platform';
import type { OtaProgress } from '@outpost/protocol';
import { NEVER } from 'rxjs';
import { pino } from 'pino';

const total = Number(process.argv[2] ?? 10_000);

// Loaded from the built workspaces (bench does not depend on the parts' packages).
const at = (path: string): string => new URL(`../../../${path}`, import.meta.url).href;
const { openStateDatabase } = (await import(at('platform/dist/src/db/database.js'))) as { openStateDatabase(dir: string): { db: StateDatabase; close(): Promise<void> } };
const { RolloutStore } = (await import(at('ota/dist/src/rollouts/adapters/rollout-store.js'))) as { RolloutStore: new (db: StateDatabase) => unknown };
const { RolloutMetrics } = (await import(at('ota/dist/src/rollouts/adapters/rollout-metrics.js'))) as { RolloutMetrics: new (store: unknown) => unknown };
const { rolloutMigrations } = (await import(at('ota/dist/src/rollouts/adapters/rollout-tables.js'))) as { rolloutMigrations: Parameters<typeof runMigrations>[2] };
const { RolloutEngine } = (await import(at('ota/dist/src/rollouts/services/rollout-engine.js'))) as {
  RolloutEngine: new (deps: unknown) => { start(): Promise<void>; tickOne(id: string): Promise<void>; onProgress(m: { deviceId: string; payload: OtaProgress; receivedAt: number }): Promise<void>; locked<T>(id: string, fn: () => Promise<T>): Promise<T> };
};
const { RolloutService } = (await import(at('ota/dist/src/rollouts/services/rollout-service.js'))) as {
  RolloutService: new (deps: unknown) => { create(spec: unknown, by: string): Promise<{ id: string }>; detail(id: string): Promise<{ state: string; currentWave: number; counts: Record<string, number> }> };
};
const { parseRolloutBody } = (await import(at('ota/dist/src/rollouts/domain/parse-rollout.js'))) as { parseRolloutBody(body: unknown): unknown };
const { newRolloutId } = (await import(at('ota/dist/src/rollouts/create-rollout-module.js'))) as { newRolloutId(prefix: string): string };

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-rollouts-'));
const state = openStateDatabase(join(dir, 'state'));
await runMigrations(state.db, 'ota_rollouts', rolloutMigrations);
const ids = Array.from({ length: total }, (_, i) => `dev-${String(i).padStart(6, '0')}`);
const jobs = new Map<string, string>();
const store = new RolloutStore(state.db);
const engine = new RolloutEngine({
  store,
  artifacts: {
    get: async (id: string) => ({
      id,
      size: 1,
      sha256: 'a'.repeat(64),
      signature: { keyId: 'k', sig: 'c2ln' },
      manifest: { v: 1, id, name: 'app', version: '2.0.0', type: 'archive', hardware: ['x'], size: 1, sha256: 'a'.repeat(64), createdAt: 1 },
    }),
  },
  registry: { lookup: async (id: string) => ({ id, status: 'active', group: 'bench', tags: {} }), deviceIds: async () => ids, groupExists: async () => true, events: NEVER },
  channel: { publishOtaJob: async (deviceId: string, job: { jobId: string }) => void jobs.set(deviceId, job.jobId) },
  live: { publish: () => undefined },
  audit: { record: async () => undefined, annotate: () => undefined },
  log: pino({ level: 'warn' }),
  clock: { now: () => Date.now() },
  metrics: new RolloutMetrics(store),
  jobUrl: (a: string) => `https://127.0.0.1:8443/device/v1/firmware/${a}`,
  newId: newRolloutId,
});
await engine.start();
const service = new RolloutService({ store, engine, registry: { lookup: async (id: string) => ({ id, status: 'active', group: 'bench', tags: {} }), deviceIds: async () => ids, groupExists: async () => true }, clock: { now: () => Date.now() }, newId: newRolloutId });

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;
let t0 = performance.now();
const spec = parseRolloutBody({ artifactId: 'art', target: { group: 'bench' }, waves: [{ percent: 10 }, { percent: 100 }], gate: { soak: '0s', deviceTimeout: '1h', health: { window: '15m', silenceAfter: '5m', action: 'pause' } } });
const { id } = await service.create(spec, 'bench');
console.log(`create a rollout of ${total} devices (wave 1: ${jobs.size} jobs stored and published): ${ms(t0)}`);

const report = (deviceId: string, state: OtaProgress['state'], n: number): Promise<void> =>
  engine.onProgress({ deviceId, receivedAt: Date.now(), payload: { v: 1, jobId: jobs.get(deviceId) ?? '', state, at: Date.now() + n } });
const wave1 = [...jobs.keys()];
t0 = performance.now();
let n = 0;
for (const state of ['downloading', 'installing', 'health-checking'] as const) for (const d of wave1) await report(d, state, ++n);
const serialS = (performance.now() - t0) / 1000;
console.log(`progress transitions stored one at a time: ${n} in ${serialS.toFixed(2)} s = ${Math.round(n / serialS)} /s`);
t0 = performance.now();
for (let i = 0; i < wave1.length; i += 100) await Promise.all(wave1.slice(i, i + 100).map((d) => report(d, 'succeeded', ++n)));
const concS = (performance.now() - t0) / 1000;
console.log(`progress transitions stored 100 at a time: ${wave1.length} in ${concS.toFixed(2)} s = ${Math.round(wave1.length / concS)} /s`);

const ticks: number[] = [];
for (let i = 0; i < 5; i += 1) {
  const t = performance.now();
  await engine.locked(id, () => engine.tickOne(id));
  ticks.push(performance.now() - t);
  if (i === 0) console.log(`gate passed and wave 2 started (${jobs.size - wave1.length} jobs stored and published): ${ticks[0]?.toFixed(0)} ms`);
}
const evals = ticks.slice(1).sort((a, b) => a - b);
console.log(`one tick with the gate and health over ${total} devices: median ${evals[Math.floor(evals.length / 2)]?.toFixed(1)} ms`);
t0 = performance.now();
const d = await service.detail(id);
console.log(`GET /rollouts/{id} detail (per-wave counts, gate): ${ms(t0)}; state ${d.state}, wave ${d.currentWave + 1}`);
await state.close();
await rm(dir, { recursive: true, force: true });
