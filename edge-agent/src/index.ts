// Placeholder: this part is built in a later issue (see the README's roadmap).
export const partName = 'edge-agent';

// data path
export { openOutbox, resolveOutboxOptions, OUTBOX_DEFAULTS } from './outbox/index.js';
export type { FsyncPolicy, Outbox, OutboxEntry, OutboxLog, OutboxOptions, OutboxStats } from './outbox/index.js';
export { createCollector, metricNameProblem } from './collectors/index.js';
export type { CollectorDeps, CollectorLog, CollectorSource, CollectorStats } from './collectors/index.js';
export { createPipeline, validatePipelineConfig, DEFAULT_BATCH_MAX_AGE_MS } from './processing/index.js';
export type { Pipeline, PipelineConfig, PipelineDeps, PipelineStats, ValidateOptions } from './processing/index.js';
// end data path
