import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TelemetryStore } from '@outpost/telemetry';
import type { OutpostConfig } from './config/outpost-config.js';
import type { AuditPort } from './ports/audit-port.js';
import type { AuthPort } from './ports/auth-port.js';
import type { LeasePort } from './ports/lease-port.js';
import type { LivePort } from './ports/live-port.js';
import type { Ports } from './ports/ports.js';
import type { Migrations, StateDatabase } from './ports/state-database.js';

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
  /** The ports of the parts composed before this one (and `maintenance`, always); take one with `requirePort`. */
  readonly ports: Partial<Ports> & Pick<Ports, 'maintenance'>;
  /** The telemetry store (InfluxDB when configured, else the embedded SQLite store), opened by the platform. */
  readonly telemetry: TelemetryStore;
  /** Runs this part's migrations on `db`, tracked in its own `<part>_migrations` table. */
  migrate(part: string, migrations: Migrations): Promise<string[]>;
  /** The secret key (32 bytes) that encrypts server-held keys at rest. */
  readonly secretKey: Buffer;
  /** Leases for singleton work (ADR 0011): always held in one process, one holder per cluster otherwise. */
  readonly leases: LeasePort;
}

/** The platform's pino logger as parts receive it: log data first, message second. */
export type Log = FastifyBaseLogger;

export type PartFactory = (deps: PartDeps) => Part | Promise<Part>;
