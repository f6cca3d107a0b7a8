export type { Part, PartDeps, PartFactory, Listeners, Ports, TlsPort, TlsCredentials, MaintenancePort, Readiness, Clock } from '@outpost/kernel';
export type { AuthPort, AuditPort, AuditRecord, LivePort, LiveEvent, LiveTopic, StateDatabase, Role, Principal } from '@outpost/kernel';
export { ApiError, type ApiErrorCode } from './http/api-error.js';
export { runMigrations, type Migrations } from './db/migrate.js';
export { Platform, type PlatformOptions, type StartedPlatform } from './server/platform.js';
export { runServer, type RunServerOptions } from './server/run-server.js';
export { serverParts, SERVER_PART_NAMES } from './server/parts.js';
export { loadConfig, resolveSecretKey, describeConfig, type OutpostConfig } from './config/index.js';
export { createLogger } from './server/logger.js';
