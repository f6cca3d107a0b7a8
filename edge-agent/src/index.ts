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

// runtime
export { statePaths, loadIdentity, isEnrolled, DEFAULT_STATE_DIR } from './identity/state-dir.js';
export type { DeviceIdentity, StatePaths } from './identity/state-dir.js';
export { enrollDevice, parseServerUrl } from './identity/enroll.js';
export type { EnrollOptions, EnrollResult } from './identity/enroll.js';
export { renewCertificate, renewalMode, renewAt, signedRenewalRequest, DEFAULT_RENEW_GRACE_MS } from './identity/renewal.js';
export type { RenewalMode } from './identity/renewal.js';
export { fingerprintOfDer, parseFingerprint } from './identity/ca-pin.js';
export { createBackoff } from './connection/backoff.js';
export type { Backoff, BackoffOptions } from './connection/backoff.js';
export { createAgentRuntime } from './runtime/agent-runtime.js';
export type { AgentRuntime, AgentRuntimeOptions } from './runtime/agent-runtime.js';
export type { DataPath, PipelineSpec, RunningPipeline } from './runtime/pipeline-port.js';
export { decideTrustSet } from './runtime/trust-rules.js';
export type { TrustDecision } from './runtime/trust-rules.js';
export { RESTART_EXIT_CODE } from './runtime/command-executor.js';
export { runCli } from './cli/run-cli.js';
// end runtime
