import { describe, expect, it } from 'vitest';
import { createSimulatedCollector } from '../../src/collectors/index.js';
import type { SimulatedCollector } from '@outpost/protocol';

const config: SimulatedCollector = {
  type: 'simulated',
  intervalMs: 1000,
  seed: 42,
  metrics: { temp: { base: 20, amplitude: 5, periodS: 60, noise: 0.5 }, hum: { base: 50 } },
};

describe('simulated collector', () => {
  it('gives the same values for the same seed and times, and others for another seed', () => {
    const times = [0, 1000, 2000, 3000];
    const run = (seed: number): unknown[] => {
      const collector = createSimulatedCollector({ ...config, seed });
      return times.map((t) => collector.collect(t));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(7));
  });

  it('follows base + amplitude·sin(2πt/period) within the noise', () => {
    const collector = createSimulatedCollector(config);
    for (const t of [0, 15_000, 30_000, 45_000]) {
      const metrics = collector.collect(t) as Record<string, number>;
      const expected = 20 + 5 * Math.sin((2 * Math.PI * t) / 60_000);
      expect(Math.abs((metrics['temp'] ?? 0) - expected)).toBeLessThanOrEqual(0.5);
      expect(metrics['hum']).toBe(50);
    }
  });
});
