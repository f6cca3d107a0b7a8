import type { Collector } from '@outpost/protocol';
import { createCommandCollector } from './command-collector.js';
import type { CollectorDeps, CollectorSource } from './collector-source.js';
import { createSimulatedCollector } from './simulated-collector.js';
import { createSystemCollector } from './system-collector.js';
import { createW1Collector } from './w1-collector.js';

/** The collector for a validated `Collector` configuration. */
export function createCollector(config: Collector, deps: CollectorDeps = {}): CollectorSource {
  switch (config.type) {
    case 'system':
      return createSystemCollector(config, deps);
    case 'w1':
      return createW1Collector(config, deps);
    case 'command':
      return createCommandCollector(config, deps);
    case 'simulated':
      return createSimulatedCollector(config);
  }
}
