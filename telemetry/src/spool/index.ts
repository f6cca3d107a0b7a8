export { openSpool } from './open-spool.js';
export { SPOOL_ERROR_STATUS } from './spool-errors.js';
export type { SpoolErrorCode } from './spool-errors.js';
export {
  DEFAULT_SPOOL_GROUP_COMMIT_MS,
  DEFAULT_SPOOL_MAX_BYTES,
  DEFAULT_SPOOL_NEAR_FULL_RATIO,
  DEFAULT_SPOOL_SEGMENT_BYTES,
} from './spool-options.js';
export { DEFAULT_READ_MAX_BATCH_BYTES, DEFAULT_READ_MAX_RECORDS } from './read-batches.js';
export { MAX_DEVICE_ID_BYTES, MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES } from './record-format.js';
export type {
  Spool,
  SpoolAppendResult,
  SpoolClock,
  SpoolConsumerStats,
  SpoolDeps,
  SpoolEntry,
  SpoolLogger,
  SpoolOptions,
  SpoolReadOptions,
  SpoolRecord,
  SpoolStats,
} from './spool-types.js';
