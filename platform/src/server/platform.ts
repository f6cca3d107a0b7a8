import { createHmac, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { openTelemetryStore, type TelemetryStore } from '@outpost/telemetry';
import type { FastifyBaseLogger } from 'fastify';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import type { Subscription } from 'rxjs';
import { AuditLog, auditMigrations } from '../audit/audit-log.js';
import { registerBackupRoutes } from '../backup/backup-route.js';
import type { OutpostConfig } from '@outpost/kernel';
import { openConfiguredStateDatabase, type OpenedDatabase } from '../db/database.js';
import { runMigrations } from '../db/migrate.js';
import { annotateAudit, registerAuditHook } from '../http/audit-hook.js';
import { ApiError } from '../http/api-error.js';
import { createAuth } from '../http/auth-guard.js';
import { buildDeviceApp, type DeviceApp } from '../http/device-app.js';
import { buildOperatorApp } from '../http/operator-app.js';
import { registerApiTokenRoutes } from '../http/routes/api-token-routes.js';
import { registerAuditRoutes } from '../http/routes/audit-routes.js';
import { registerAuthRoutes } from '../http/routes/auth-routes.js';
import { registerHealthRoutes } from '../http/routes/health-routes.js';
import { registerUserRoutes } from '../http/routes/user-routes.js';
import { HeldLeases } from '../leases/held-leases.js';
import { leaseMigrations } from '../leases/lease-migrations.js';
import { SqlLeases } from '../leases/sql-leases.js';
import { LiveHub } from '../live/live-hub.js';
import { registerLiveRoute } from '../live/live-route.js';
import { LoginRateLimiter } from '../operators/login-rate-limiter.js';
import { OperatorService } from '../operators/operator-service.js';
import { operatorMigrations } from '../operators/migrations.js';
import type { AuthPort, Clock, Part, PartDeps, PartFactory, Ports, Readiness } from '@outpost/kernel';
import { registerHttpMetrics } from './http-metrics.js';
import type { FastifyInstance } from 'fastify';

export interface PlatformOptions {
  readonly config: OutpostConfig;
  readonly log: FastifyBaseLogger;
  readonly secretKey: Buffer;
  readonly parts: readonly PartFactory[];
  readonly version: string;
  /** Where the one-time initial admin password is printed (never to the log). */
  readonly stdout: Writable;
  readonly clock?: Clock;
  /** Live-stream tuning; tests shorten the windows. */
  readonly live?: { coalesceMs?: number; heartbeatMs?: number; maxPending?: number; recheckMs?: number };
}

export interface StartedPlatform {
  readonly operatorUrl: string;
  /** Known once the registry supplied server credentials and the device listener bound. */
  deviceUrl(): string | undefined;
}

/**
 * The composition root: one state database, operators, audit, live hub, metrics,
 * both listeners, and every part. `start` brings them up in order; `close` takes
 * them down in reverse within a deadline.
 */
export class Platform {
  readonly operator: FastifyInstance;
  readonly device: DeviceApp;
  readonly registry: Registry;
  readonly operators: OperatorService;
  readonly audit: AuditLog;
  readonly live: LiveHub;
  readonly auth: AuthPort;
  /** The telemetry store every part shares (InfluxDB when configured, else embedded SQLite). */
  readonly telemetry: TelemetryStore;
  readonly #options: PlatformOptions;
  readonly #database: OpenedDatabase;
  readonly #parts: Part[];
  readonly #started = new Set<Part>();
  readonly #subscriptions: Subscription[] = [];
  readonly #ports: Partial<Ports> & Pick<Ports, 'maintenance'>;
  readonly #leases: HeldLeases | SqlLeases;
  #deviceUrl: string | undefined;
  #deviceListening: Promise<void> | undefined;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';

  private constructor(init: {
    options: PlatformOptions;
    database: OpenedDatabase;
    operators: OperatorService;
    audit: AuditLog;
    auth: AuthPort;
    live: LiveHub;
    telemetry: TelemetryStore;
    registry: Registry;
    operator: FastifyInstance;
    device: DeviceApp;
    parts: Part[];
    ports: Partial<Ports> & Pick<Ports, 'maintenance'>;
    leases: HeldLeases | SqlLeases;
  }) {
    this.#options = init.options;
    this.#database = init.database;
    this.operators = init.operators;
    this.audit = init.audit;
    this.auth = init.auth;
    this.live = init.live;
    this.telemetry = init.telemetry;
    this.registry = init.registry;
    this.operator = init.operator;
    this.device = init.device;
    this.#parts = init.parts;
    this.#ports = init.ports;
    this.#leases = init.leases;
  }

  /** Builds everything (database migrated, routes registered) without listening yet. */
  static async create(options: PlatformOptions): Promise<Platform> {
    const { config, log } = options;
    const clock = options.clock ?? { now: () => Date.now() };
    const database = openConfiguredStateDatabase(config, log);
    let telemetry: TelemetryStore | undefined;
    try {
      await runMigrations(database.db, 'platform', operatorMigrations);
      await runMigrations(database.db, 'audit', auditMigrations);
      await runMigrations(database.db, 'leases', leaseMigrations);
      // ADR 0011: one process holds every lease; cluster nodes share them through the state database.
      const leases =
        config.role === 'all'
          ? new HeldLeases()
          : new SqlLeases({ db: database.db, holder: `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`, ttlMs: config.leaseTtlMs, clock, log: log.child({ component: 'leases' }) });
      const operators = new OperatorService(database.db, {
        now: clock.now,
        sessionTtlMs: config.sessionTtlMs,
        streamTokenTtlMs: config.streamTokenTtlMs,
      });
      const admin = await operators.ensureInitialAdmin(config.adminPassword);
      if (admin.generatedPassword !== undefined) {
        options.stdout.write(
          `\nInitial admin account created. Sign in as "admin" with this password; it is shown only once:\n\n    ${admin.generatedPassword}\n\n`,
        );
      } else if (admin.created) {
        log.info('initial admin account created with the password from OUTPOST_ADMIN_PASSWORD');
      }
      const audit = new AuditLog(database.db, clock.now);
      const auth = createAuth(operators);
      const live = new LiveHub();
      telemetry = await openTelemetryStore({
        ...(config.influx === undefined ? {} : { influx: config.influx }),
        embeddedFile: join(config.dataDir, 'telemetry.sqlite'),
        retentionDays: config.retentionDays,
        deadLetterFile: join(config.dataDir, 'dead-letters', 'telemetry.jsonl'),
        log: log.child({ component: 'telemetry' }),
        // In real time the store gets its own thread (a second core for SQLite or InfluxDB
        // encoding, off the broker's); a test's virtual clock keeps it in this thread.
        ...(options.clock === undefined ? { thread: 'worker' as const } : { clock }),
      });
      const store = telemetry;
      log.info({ store: store.kind }, `telemetry store: ${store.kind}`);
      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: 'outpost_' });

      const timeouts = { idleMs: config.http.idleTimeoutMs, keepAliveMs: config.http.keepAliveTimeoutMs, requestMs: config.http.requestTimeoutMs };
      const operator = await buildOperatorApp({
        log,
        auth,
        version: options.version,
        timeouts,
        cursorKey: createHmac('sha256', options.secretKey).update('outpost pagination cursors v1').digest(),
        ...(config.http.tls === undefined ? {} : { https: await readTls(config.http.tls) }),
      });
      const device = buildDeviceApp({ log: log.child({ listener: 'device' }), timeouts });
      if (config.role === 'broker') refuseOperatorRoutes(operator);
      registerHttpMetrics(operator, registry, 'operator');
      registerHttpMetrics(device.app, registry, 'device');
      registerAuditHook(operator, audit, log);

      const limiter = new LoginRateLimiter({
        limitPerWindow: config.loginRateLimitPerMin,
        accountLimitPerWindow: config.loginAccountRateLimitPerMin,
        slowdownMs: config.loginSlowdownMs,
        windowMs: 60_000,
        now: clock.now,
      });
      registerAuthRoutes(operator, { operators, auth, limiter });
      registerUserRoutes(operator, { operators, auth });
      registerApiTokenRoutes(operator, { operators, auth });
      registerAuditRoutes(operator, { audit, auth });
      registerBackupRoutes(operator, { auth, database, config, secretKey: options.secretKey, version: options.version, now: clock.now });
      registerLiveRoute(operator, {
        events: live.events,
        auth,
        sessions: operators,
        options: {
          recheckMs: options.live?.recheckMs ?? config.liveRecheckMs,
          coalesceMs: options.live?.coalesceMs ?? 250,
          heartbeatMs: options.live?.heartbeatMs ?? 15_000,
          maxPending: options.live?.maxPending ?? 5_000,
        },
      });

      const ports: Partial<Ports> & Pick<Ports, 'maintenance'> = { maintenance: { isUpdating: () => false } };
      const parts: Part[] = [];
      for (const factory of options.parts) {
        const deps: PartDeps = {
          config,
          db: database.db,
          auth,
          audit: { record: (entry) => audit.record(entry), annotate: annotateAudit },
          live,
          log,
          clock,
          telemetry: store,
          ports: { ...ports },
          migrate: (part, migrations) => runMigrations(database.db, part, migrations),
          secretKey: options.secretKey,
          leases,
        };
        const part = await factory(deps);
        Object.assign(ports, part.provides ?? {});
        await part.routes?.({ operator, device: device.app });
        part.metrics?.(registry);
        parts.push(part);
      }

      const platform = new Platform({ options, database, operators, audit, auth, live, telemetry: store, registry, operator, device, parts, ports, leases });
      registerHealthRoutes(operator, { health: { readiness: () => platform.readiness(), reasons: () => platform.readinessReasons() }, registry, ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }) });
      new Gauge({
        name: 'outpost_ready',
        help: 'Readiness by part: 1 ok, 0.5 degraded, 0 down',
        labelNames: ['part'] as const,
        registers: [registry],
        collect() {
          for (const [part, state] of Object.entries(platform.readiness())) this.set({ part }, state === 'ok' ? 1 : state === 'degraded' ? 0.5 : 0);
        },
      });
      return platform;
    } catch (err) {
      await telemetry?.close();
      await database.close();
      throw err;
    }
  }

  /** The device listener's URL once it is bound (after the `tls` port supplied credentials). */
  deviceUrl(): string | undefined {
    return this.#deviceUrl;
  }

  /** Why a part is not ok, where it says (today the state database on PostgreSQL). */
  readinessReasons(): Record<string, string> {
    const reason = this.#database.health?.reason();
    return reason === undefined ? {} : { 'state-db': reason };
  }

  readiness(): Record<string, Readiness> {
    const result: Record<string, Readiness> = { platform: this.#state === 'running' ? 'ok' : 'down' };
    // PostgreSQL (issue 15): degraded while the server is unreachable; requests needing it answer 503 meanwhile.
    const stateDb = this.#database.health;
    if (stateDb !== undefined) result['state-db'] = stateDb.readiness();
    for (const part of this.#parts) result[part.name] = this.#started.has(part) && this.#state === 'running' ? safeReady(part) : 'down';
    return result;
  }

  /** Starts parts in order, then the listeners; resolves when the operator listener is bound. */
  async start(): Promise<StartedPlatform> {
    if (this.#state !== 'new') throw new Error(`platform cannot start: it is ${this.#state}`);
    this.#state = 'starting';
    const { config, log } = this.#options;
    await this.#leases.start();
    for (const part of this.#parts) {
      await part.start();
      this.#started.add(part);
      log.debug({ part: part.name }, 'part started');
    }
    await this.device.app.ready();
    const operatorUrl = await this.operator.listen({ host: config.http.host, port: config.http.port });
    const tls = this.#ports.tls;
    // ADR 0011: a control node serves no device traffic (its MQTT listener is not bound either).
    if (tls !== undefined && config.role !== 'control') {
      this.#subscriptions.push(
        tls.changes.subscribe((credentials) => {
          this.device.useCredentials(credentials);
          this.#listenDevice();
        }),
      );
      const current = tls.current();
      if (current !== undefined) {
        this.device.useCredentials(current);
        this.#listenDevice();
      }
      await this.#deviceListening;
    }
    this.#state = 'running';
    log.info(
      { operatorUrl, deviceUrl: this.#deviceUrl ?? null, parts: this.#parts.map((p) => p.name), role: config.role },
      `outpost ready: operator ${operatorUrl}${this.#deviceUrl === undefined ? '' : `, device ${this.#deviceUrl}`}`,
    );
    return { operatorUrl, deviceUrl: () => this.#deviceUrl };
  }

  #listenDevice(): void {
    if (this.#deviceListening !== undefined) return;
    const { config, log } = this.#options;
    this.#deviceListening = this.device.app
      .listen({ host: config.device.host, port: config.device.port })
      .then(() => {
        // fastify cannot tell our serverFactory's server is TLS, so the URL is built here.
        const address = this.device.app.server.address();
        const url = typeof address === 'object' && address !== null ? `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : `https://${config.device.host}:${config.device.port}`;
        this.#deviceUrl = url;
        log.info({ deviceUrl: url }, 'device listener bound');
      })
      .catch((err: unknown) => {
        log.error({ err }, 'device listener failed to bind');
        throw err;
      });
  }

  /** Closes listeners, then parts in reverse start order, then the database, within `deadlineMs`. */
  async close(deadlineMs = this.#options.config.shutdownTimeoutMs): Promise<{ clean: boolean }> {
    if (this.#state === 'closing' || this.#state === 'closed') return { clean: true };
    this.#state = 'closing';
    const { log } = this.#options;
    const deadline = Date.now() + deadlineMs;
    const left = (): number => Math.max(0, deadline - Date.now());
    let clean = true;
    const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await withDeadline(fn(), left(), name);
      } catch (err) {
        clean = false;
        log.error({ err, step: name }, `shutdown: ${name} did not close cleanly`);
      }
    };
    for (const s of this.#subscriptions) s.unsubscribe();
    this.live.close();
    this.operators.close();
    await step('operator listener', () => this.operator.close());
    await step('device listener', () => this.device.app.close());
    for (const part of [...this.#started].reverse()) {
      await step(`part ${part.name}`, () => part.close(left()));
      this.#started.delete(part);
    }
    await step('leases', () => this.#leases.close());
    await step('telemetry store', () => this.telemetry.close());
    await step('state database', () => this.#database.close());
    this.#state = 'closed';
    log.info({ clean }, 'outpost stopped');
    return { clean };
  }
}

/** What a broker node's operator listener still answers (HAProxy's health check, Prometheus). */
const BROKER_OPERATOR_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** ADR 0011: on a broker node the operator API and dashboard answer 421 ROLE_NOT_SERVED (they live on control nodes). */
function refuseOperatorRoutes(operator: FastifyInstance): void {
  operator.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (BROKER_OPERATOR_PATHS.has(path)) return;
    throw new ApiError('ROLE_NOT_SERVED', 'this is a broker node: the operator API and dashboard are served by control nodes');
  });
}

function safeReady(part: Part): Readiness {
  try {
    return part.ready();
  } catch {
    return 'down';
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish before the shutdown deadline`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: string; key: string }> {
  const { readFile } = await import('node:fs/promises');
  return { cert: await readFile(tls.certFile, 'utf8'), key: await readFile(tls.keyFile, 'utf8') };
}
