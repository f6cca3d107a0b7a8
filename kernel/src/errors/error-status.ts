import { ERROR_CODES, type ErrorCode } from '@outpost/protocol';

/** protocol's common codes (shared with the agent) keep the status protocol gives them. */
const COMMON: { readonly [C in ErrorCode]: number } = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, entry]) => [code, entry.status])) as { readonly [C in ErrorCode]: number };

/**
 * The one table of the server's error codes and their HTTP status (STYLE 8, 20): every code a
 * part or the platform throws is written out here, so grep finds it, and the platform's error
 * handler answers with this status — nothing is guessed from a code's suffix. An error may
 * still carry an explicit `status` (it wins); a code missing here answers 500 and is logged.
 * kernel/test/errors/error-status.test.ts fails when a thrown code is missing.
 */
export const ERROR_STATUS = {
  ...COMMON,

  // platform: the HTTP boundary
  BAD_REQUEST: 400,
  CURSOR_INVALID: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PART_PORT_MISSING: 500,

  // registry: CA, certificates, enrollment, renewal, devices, groups, config, commands, bundles
  REGISTRY_CA_INVALID: 500,
  REGISTRY_CA_EXPIRED: 500,
  REGISTRY_CA_UNAVAILABLE: 503,
  REGISTRY_CERT_INVALID: 400,
  REGISTRY_KEY_SECRET_INVALID: 500,
  REGISTRY_KEY_DECRYPT_FAILED: 500,
  CA_NOT_FOUND: 404,
  CA_RETIRE_CONFLICT: 409,
  CERT_NOT_FOUND: 404,
  CERT_REVOKED: 403,
  CSR_PEM_INVALID: 400,
  CSR_SIGNATURE_INVALID: 400,
  CSR_KEY_UNSUPPORTED: 400,
  CSR_KEY_TOO_SMALL: 400,
  ENROLL_TOKEN_NOT_FOUND: 404,
  ENROLL_TOKEN_UNAUTHENTICATED: 401,
  ENROLL_TOKEN_EXPIRED: 403,
  ENROLL_TOKEN_REVOKED: 403,
  ENROLL_TOKEN_USED_UP: 403,
  ENROLL_RATE_LIMITED: 429,
  RENEW_REQUEST_INVALID: 400,
  RENEW_UNAUTHENTICATED: 401,
  RENEW_CLOCK_SKEW: 401,
  RENEW_GRACE_EXPIRED: 403,
  RENEW_TOO_EARLY: 409,
  RENEW_RATE_LIMITED: 429,
  DEVICE_NOT_FOUND: 404,
  DEVICE_ID_CONFLICT: 409,
  DEVICE_STATE_CONFLICT: 409,
  DEVICE_SUSPENDED: 403,
  DEVICE_REVOKED: 403,
  CONFIG_INVALID: 400,
  CONFIG_NOT_FOUND: 404,
  CONFIG_VERSION_CONFLICT: 409,
  COMMAND_INVALID: 400,
  BUNDLE_AGENT_UNAVAILABLE: 503,
  BUNDLE_PUBLIC_HOST_LOOPBACK: 400,
  BUNDLE_TAR_INVALID: 400,
  // agent bundles that carry a Node.js runtime (issue 17, brief S, edge-agent/bundle/node-runtime.ts):
  // a runtime choice or tarball that is not a usable Node.js (bad ARCH@VERSION, no bin/node, an
  // architecture bundles do not carry, too old); the npm registry cannot be reached and nothing
  // is cached; a download that does not match the registry's published integrity.
  BUNDLE_RUNTIME_INVALID: 400,
  BUNDLE_RUNTIME_UNAVAILABLE: 503,
  BUNDLE_RUNTIME_INTEGRITY: 502,

  // ota (issue 13, helper A): signing keys and the TrustSet, firmware uploads, device downloads
  OTA_OPTIONS_INVALID: 500,
  OTA_KEY_FILE_INVALID: 400,
  OTA_TRUST_SET_INVALID: 400,
  OTA_TRUST_SIGNATURE_INVALID: 400,
  OTA_TRUST_VERSION_CONFLICT: 409,
  OTA_TRUST_LAST_KEY: 409,
  OTA_SIGNING_KEY_NOT_FOUND: 404,
  OTA_UPLOAD_INVALID: 400,
  OTA_MANIFEST_INVALID: 400,
  OTA_SIGNATURE_MISSING: 400,
  OTA_SIGNATURE_INVALID: 400,
  OTA_KEY_UNKNOWN: 400,
  OTA_ARTIFACT_TOO_LARGE: 413,
  OTA_ARTIFACT_SIZE_MISMATCH: 400,
  OTA_ARTIFACT_DIGEST_MISMATCH: 400,
  OTA_ARTIFACT_EXISTS: 409,
  OTA_ARTIFACT_NOT_FOUND: 404,
  OTA_ARTIFACT_IN_USE: 409,
  OTA_DOWNLOAD_UNAUTHENTICATED: 401,
  OTA_DOWNLOAD_FORBIDDEN: 403,
  OTA_DOWNLOAD_BUSY: 503,
  OTA_RANGE_NOT_SATISFIABLE: 416,

  // broker and alerts
  BROKER_UNAVAILABLE: 503,
  RULE_INVALID: 400,
  RULE_NOT_FOUND: 404,
  RULE_EXISTS: 409,
  RULE_CONFLICT: 409,
  RULE_TEST_INVALID: 400,
  RULE_TEST_TOO_LARGE: 400,
  ALERT_NOT_FOUND: 404,
  ALERT_CONFLICT: 409,
  CHANNEL_INVALID: 400,
  CHANNEL_NOT_FOUND: 404,
  CHANNEL_EXISTS: 409,
  CHANNEL_CONFLICT: 409,
  ALERTS_TELEMETRY_UNAVAILABLE: 503,
  ALERTS_SECRET_KEY_INVALID: 500,
  ALERTS_SECRET_UNREADABLE: 500,

  // ota rollouts (issue 13, ota/src/rollouts): creating and acting on staged rollouts
  ROLLOUT_INVALID: 400,
  ROLLOUT_WAVES_INVALID: 400,
  ROLLOUT_TARGET_EMPTY: 400,
  ROLLOUT_ARTIFACT_UNKNOWN: 400,
  ROLLOUT_GROUP_UNKNOWN: 400,
  ROLLOUT_DEVICE_UNKNOWN: 400,
  ROLLOUT_NO_DEVICES: 400,
  ROLLOUT_DEVICE_BUSY: 409,
  ROLLOUT_NOT_FOUND: 404,
  ROLLOUT_STATE_CONFLICT: 409,

  // telemetry store, spool and queries (dashboard)
  TELEMETRY_QUERY_INVALID: 400,
  TELEMETRY_QUERY_FAILED: 500,
  TELEMETRY_STORE_UNAVAILABLE: 503,
  SPOOL_FULL_UNAVAILABLE: 503,
  SPOOL_IO_UNAVAILABLE: 503,
  SPOOL_CLOSED: 503,
  SPOOL_CORRUPT: 500,
  SPOOL_LOCKED: 409,
  SPOOL_RECORD_INVALID: 400,
  SPOOL_CURSOR_INVALID: 400,
  SPOOL_CONSUMER_NOT_FOUND: 404,
  SPOOL_OPTIONS_INVALID: 400,
  DASHBOARD_OPTIONS_INVALID: 400,
  // dashboard web app (issue 14): its pages before `vite build` ran
  DASHBOARD_APP_MISSING: 503,

  // edge agent OTA (edge-agent/src/ota, issue 13 item 4): what an agent reports in OtaProgress
  // `error.code` (and DeviceStatus lastError). Never thrown by the server; listed so one table
  // holds every code and grep finds each, with the status an API showing it would use. The agent
  // also reports OTA_KEY_UNKNOWN, OTA_SIGNATURE_INVALID and OTA_MANIFEST_INVALID, listed above
  // with the same meaning on the server.
  OTA_JOB_INVALID: 400,
  OTA_TRUST_EMPTY: 409,
  OTA_HARDWARE_MISMATCH: 409,
  OTA_AGENT_TOO_OLD: 409,
  OTA_DOWNGRADE_REFUSED: 409,
  OTA_SECURITY_VERSION_LOWER: 409,
  OTA_DISK_FULL: 507,
  OTA_DOWNLOAD_REFUSED: 502,
  OTA_DOWNLOAD_FAILED: 504,
  OTA_DOWNLOAD_UNTRUSTED: 502,
  OTA_CHUNK_MISMATCH: 422,
  OTA_SIZE_MISMATCH: 422,
  OTA_SHA256_MISMATCH: 422,
  OTA_INSTALL_FAILED: 500,
  OTA_ARTIFACT_LAYOUT_INVALID: 422,
  OTA_AGENT_HOME_UNKNOWN: 409,
  OTA_HELPER_FAILED: 500,
  OTA_SCRIPT_FAILED: 500,
  OTA_ACTIVATE_FAILED: 500,
  OTA_HEALTH_CHECK_FAILED: 500,
  OTA_CONFIRM_FAILED: 500,
  OTA_CONFIRM_TIMEOUT: 504,
  OTA_INTERRUPTED: 500,
  OTA_JOB_CANCELLED: 409,
  OTA_JOB_SUPERSEDED: 409,
  OTA_INTERNAL: 500,

  // state database on PostgreSQL (issue 15, brief P, platform/src/db/postgres.ts): the server
  // cannot be reached (refused, reset, shut down, connect timeout); readiness shows state-db degraded.
  STATE_DB_UNAVAILABLE: 503,

  // broker nodes through Redis (issue 15, brief C, broker/src/cluster, docs/adr/0010-broker-cluster.md):
  // Redis cannot be reached or did not answer in time (a connect is refused with CONNACK 3 and a
  // publish is not acknowledged meanwhile); a session fenced because the device connected to another node.
  REDIS_UNAVAILABLE: 503,
  SESSION_TAKEN_OVER: 409,

  // cluster roles (issue 15, brief R, docs/adr/0011-roles.md): a broker node's operator listener
  // answers health and metrics only; the operator API and dashboard live on control nodes.
  ROLE_NOT_SERVED: 421,

  // backup and restore (issue 16, brief U, platform/src/backup, docs/adr/0012-backup.md): the state
  // database is PostgreSQL (use pg_dump); the database copy failed; an archive that is not a readable
  // outpost backup, whose manifest is malformed or altered, whose entries do not match it; a restore
  // target that is not empty; a secret key that is not the one the archive's CA and keys are sealed with.
  BACKUP_DATABASE_EXTERNAL: 409,
  BACKUP_SNAPSHOT_FAILED: 500,
  BACKUP_ARCHIVE_INVALID: 400,
  BACKUP_MANIFEST_INVALID: 400,
  BACKUP_MANIFEST_ALTERED: 400,
  BACKUP_ENTRY_MISMATCH: 400,
  BACKUP_TARGET_NOT_EMPTY: 409,
  BACKUP_SECRET_KEY_MISMATCH: 403,
} as const satisfies Readonly<Record<string, number>>;

export type ServerErrorCode = keyof typeof ERROR_STATUS;

export function isServerErrorCode(code: string): code is ServerErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}

/** The HTTP status of a coded error: its explicit status, else the table's, else 500. */
export function statusOfError(error: { readonly code: string; readonly status?: number | undefined }): number {
  if (error.status !== undefined) return error.status;
  return isServerErrorCode(error.code) ? ERROR_STATUS[error.code] : 500;
}
