import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import type { TelemetryStore } from '@outpost/telemetry';
import type { OutpostConfig } from './config/types.js';
import type { StateDatabase } from './db/database.js';
import type { Migrations } from './db/migrate.js';
import type { AuditPort } from './audit/audit-log.js';
import type { AuthPort } from './http/auth-guard.js';
import type { LivePort } from './live/live-hub.js';

/** What a part reports for `/readyz`: `degraded` still serves (e.g. InfluxDB down, spool holding data). */
export type Readiness = 'ok' | 'degraded' | 'down';

/** The two fastify instances of SPEC "Listeners": operator HTTP and device HTTPS. */
export interface Listeners {
  readonly operator: FastifyInstance;
  readonly device: FastifyInstance;
}

/**
 * One server part (broker, registry, OTA, …) as the platform composes it. The
 * platform calls `routes` and `metrics` before any listener starts, then `start`
 * in order, and `close` in reverse order with what is left of the deadline.
 */
export interface Part {
  readonly name: string;
  start(): Promise<void>;
  ready(): Readiness;
  close(deadlineMs: number): Promise<void>;
  routes?(listeners: Listeners): void | Promise<void>;
  metrics?(registry: Registry): void;
  /** Ports this part provides to the parts composed after it. */
  readonly provides?: Partial<Ports>;
}

/** Server TLS credentials the registry issues; the device listener starts once they exist. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** PEM chain of the platform CA(s), sent in the handshake and used to verify clients. */
  readonly ca: string;
}

export interface TlsPort {
  current(): TlsCredentials | undefined;
  /** Emits whenever the credentials are (re)issued, e.g. on SAN change or CA rotation. */
  readonly changes: Observable<TlsCredentials>;
}

export interface MaintenancePort {
  /** True while the device is applying an update (alerts are then stored as maintenance). */
  isUpdating(deviceId: string): boolean;
}

/**
 * Cross-part ports, each provided by one part. Ports whose provider is not
 * built yet are absent; `maintenance` answers false until OTA exists.
 */
export interface Ports {
  readonly tls: TlsPort;
  readonly maintenance: MaintenancePort;
  readonly [port: string]: unknown;
}

export interface Clock {
  now(): number;
}

/** Everything the platform injects into a part factory. */
export interface PartDeps {
  readonly config: OutpostConfig;
  readonly db: StateDatabase;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
  readonly live: LivePort;
  readonly log: FastifyBaseLogger;
  readonly clock: Clock;
  readonly ports: Partial<Ports> & Pick<Ports, 'maintenance'>;
  /** The telemetry store (InfluxDB when configured, else the embedded SQLite store), opened by the platform. */
  readonly telemetry: TelemetryStore;
  /** Runs this part's migrations on `db`, tracked in its own `<part>_migrations` table. */
  migrate(part: string, migrations: Migrations): Promise<string[]>;
  /** The secret key (32 bytes) that encrypts server-held keys at rest. */
  readonly secretKey: Buffer;
}

export type PartFactory = (deps: PartDeps) => Part | Promise<Part>;
