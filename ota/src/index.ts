export { createOtaPart, PART_NAME, type OtaPart } from './ota-part.js';
export { OTA_DEFAULTS, type OtaOptions } from './ota-options.js';
export { otaMigrations, OTA_MIGRATIONS_NAME } from './adapters/ota-tables.js';
export { createRolloutModule, type RolloutModule, type RolloutModuleInput, type ArtifactLookup, type StoredArtifact } from './rollouts/rollout-module.js';
export type * as OtaApi from './http/api-types.js';
