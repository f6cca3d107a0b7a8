/**
 * The `simulated` collector, for demos and tests: each metric is
 * `base + amplitude·sin(2π·t / period) + noise·u`, with `t` the sample time (epoch ms), `period`
 * `periodS` seconds (default 60) and `u` uniform in [-1, 1) from a PRNG seeded by `seed` (default
 * 1) — so the same seed and times give the same values, run after run. Synchronous, so it works
 * in virtual time.
 */
import type { SimulatedCollector } from '@outpost/protocol';
import type { CollectorSource, Metrics } from './collector-source.js';

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function createSimulatedCollector(config: SimulatedCollector): CollectorSource {
  const random = seededRandom(config.seed ?? 1);
  const names = Object.keys(config.metrics).sort();
  return {
    type: 'simulated',
    intervalMs: config.intervalMs,
    collect(now: number): Metrics {
      const metrics: Metrics = {};
      for (const name of names) {
        const spec = config.metrics[name];
        if (spec === undefined) continue;
        const periodMs = (spec.periodS ?? 60) * 1000;
        const wave = (spec.amplitude ?? 0) * Math.sin((2 * Math.PI * now) / periodMs);
        const noise = (spec.noise ?? 0) * (random() * 2 - 1);
        metrics[name] = Math.round((spec.base + wave + noise) * 1e6) / 1e6;
      }
      return metrics;
    },
    stats: () => ({ errors: 0 }),
    close: () => undefined,
  };
}
