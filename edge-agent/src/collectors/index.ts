export type { CollectorDeps, CollectorLog, CollectorSource, CollectorStats, Metrics } from './collector-source.js';
export { createCollector } from './create-collector.js';
export { createSystemCollector } from './system-collector.js';
export { createW1Collector, w1MetricName } from './w1-collector.js';
export { createCommandCollector, MAX_COMMAND_OUTPUT_BYTES } from './command-collector.js';
export { createSimulatedCollector, seededRandom } from './simulated-collector.js';
export { metricNameProblem } from './metric-names.js';
