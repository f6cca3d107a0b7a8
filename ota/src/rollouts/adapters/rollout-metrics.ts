/** Rollout metrics: rollouts by state, jobs by state, gate breaches, progress reports. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RolloutStore } from './rollout-store.js';

export class RolloutMetrics {
  readonly #store: RolloutStore;
  #breaches: Counter<'kind' | 'action'> | undefined;
  #reports: Counter<'outcome'> | undefined;

  constructor(store: RolloutStore) {
    this.#store = store;
  }

  register(registry: Registry): void {
    const store = this.#store;
    new Gauge({
      name: 'outpost_ota_rollouts',
      help: 'Rollouts by state',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { state, n } of await store.rolloutsByState()) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'outpost_ota_jobs',
      help: 'Devices of rollouts by job state (pending, queued, downloading … succeeded, failed, rolled-back, timed-out, cancelled)',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { state, n } of await store.jobsByState()) this.set({ state }, n);
      },
    });
    this.#breaches = new Counter({ name: 'outpost_ota_gate_breaches_total', help: 'Wave gates breached, by kind and the action taken', labelNames: ['kind', 'action'] as const, registers: [registry] });
    this.#reports = new Counter({ name: 'outpost_ota_progress_reports_total', help: 'OtaProgress reports: applied, stale (older or after a final state) or for an unknown job', labelNames: ['outcome'] as const, registers: [registry] });
  }

  breach(kind: string, action: string): void {
    this.#breaches?.inc({ kind, action });
  }

  report(outcome: 'applied' | 'stale' | 'unknown'): void {
    this.#reports?.inc({ outcome });
  }
}
