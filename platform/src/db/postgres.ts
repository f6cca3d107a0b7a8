import pg from 'pg';
import {
  Kysely,
  PostgresDialect,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
  type CompiledQuery,
  type QueryResult,
} from 'kysely';
import { OutpostError } from '@outpost/protocol';
import type { Log, Readiness, StateDatabase } from '@outpost/kernel';
import { PostgresSchemaPlugin } from './postgres-schema-plugin.js';

/** How the platform reaches PostgreSQL (OUTPOST_DATABASE_*). */
export interface PostgresStateOptions {
  /** `postgres://user:password@host:port/database` (also `postgresql://`). */
  readonly url: string;
  /** Most connections the pool opens. */
  readonly poolMax: number;
  /** A statement running longer is cancelled by the server. */
  readonly statementTimeoutMs: number;
  /** Deadline for opening a connection (and for waiting on a busy pool). */
  readonly connectTimeoutMs: number;
  /** How often readiness is re-checked with `select 1` (sooner after a failure shows up). */
  readonly probeIntervalMs: number;
  readonly log: Log;
}

/** The state database's reachability, as /readyz shows it. */
export interface StateDbHealth {
  readiness(): Readiness;
  /** Why it is not ok; undefined when it is. */
  reason(): string | undefined;
}

export interface OpenedPostgres {
  readonly db: StateDatabase;
  /** The URL with its password masked, for logs and messages. */
  readonly where: string;
  readonly health: StateDbHealth;
  close(): Promise<void>;
}

/** int8 (count(*), bigint columns): read as numbers. Every integer the schema stores (epoch ms, counters) is below 2^53. */
const INT8_OID = 20;

/** The URL for logs: the password masked, never printed. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Whether a failure means "PostgreSQL cannot be reached" (as opposed to a bad statement). */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
    // SQLSTATE class 08 (connection exception); 57P01-03 (shutting down, crashed, starting up); 53300 (too many connections).
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  }
  return /connection terminated|timeout exceeded when trying to connect|connection error|not queryable|Client was closed/i.test(error.message);
}

class Health implements StateDbHealth {
  #reason: string | undefined;
  readonly #log: Log;
  readonly #where: string;
  readonly #onFailure: () => void;

  constructor(log: Log, where: string, onFailure: () => void) {
    this.#log = log;
    this.#where = where;
    this.#onFailure = onFailure;
  }

  readiness(): Readiness {
    return this.#reason === undefined ? 'ok' : 'degraded';
  }

  reason(): string | undefined {
    return this.#reason;
  }

  failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const reason = `PostgreSQL at ${this.#where} is unreachable: ${message}`;
    if (this.#reason === undefined) {
      this.#log.warn({ err: error, database: this.#where }, `state database degraded: ${reason}`);
      this.#onFailure();
    }
    this.#reason = reason;
  }

  succeeded(): void {
    if (this.#reason === undefined) return;
    this.#reason = undefined;
    this.#log.info({ database: this.#where }, 'state database reachable again');
  }
}

/** The refusal a request gets while PostgreSQL is unreachable (503, coded). */
function unavailable(error: unknown, where: string): OutpostError {
  const message = error instanceof Error ? error.message : String(error);
  return new OutpostError('STATE_DB_UNAVAILABLE', `the state database (PostgreSQL at ${where}) is unreachable: ${message}; retry later`, { cause: error });
}

/**
 * Opens the state database on PostgreSQL: a bounded pg pool behind Kysely's Postgres dialect,
 * the schema plugin that maps the migrations' SQLite types, and a health probe. A failure to
 * reach the server turns readiness `degraded` and answers the query with STATE_DB_UNAVAILABLE;
 * the pool reconnects by itself when the server is back.
 */
export function openPostgresStateDatabase(options: PostgresStateOptions): OpenedPostgres {
  const where = redactDatabaseUrl(options.url);
  const log = options.log.child({ component: 'state-db' });
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'outpost',
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  let probeTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const probe = async (): Promise<void> => {
    try {
      await pool.query('select 1');
      health.succeeded();
    } catch (error) {
      if (isUnreachable(error)) health.failed(error);
      else log.warn({ err: error }, 'state database probe failed');
    }
  };
  const schedule = (ms: number): void => {
    if (closed) return;
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => {
      void probe().finally(() => schedule(options.probeIntervalMs));
    }, ms);
    probeTimer.unref();
  };
  // After a failure the probe runs at once, so readiness recovers within one interval of the server's return.
  const health = new Health(log, where, () => schedule(Math.min(options.probeIntervalMs, 1_000)));
  // An idle client whose server went away emits 'error' on the pool: without a listener it would crash the process.
  pool.on('error', (error) => {
    if (isUnreachable(error)) health.failed(error);
    else log.warn({ err: error }, 'state database connection failed');
  });
  // A client checked out of the pool has no pool listener: its server going away (FATAL 57P01 between
  // two statements of a transaction) emitted 'error' with no listener and ended the process (issue 15,
  // found by test/test/cluster/cluster-postgres-outage.test.ts). The pool drops such a client on release.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (isUnreachable(error)) health.failed(error);
      else log.warn({ err: error }, 'state database connection failed');
    });
  });
  const guard = (error: unknown): unknown => {
    if (!isUnreachable(error)) return error;
    health.failed(error);
    return unavailable(error, where);
  };
  const db: StateDatabase = new Kysely({
    dialect: new GuardedDialect(new PostgresDialect({ pool }), guard, () => health.succeeded()),
    plugins: [new PostgresSchemaPlugin()],
  });
  schedule(options.probeIntervalMs);
  return {
    db,
    where,
    health,
    async close() {
      closed = true;
      clearTimeout(probeTimer);
      await db.destroy();
    },
  };
}

/** Postgres dialect whose driver turns "server unreachable" failures into STATE_DB_UNAVAILABLE. */
class GuardedDialect implements Dialect {
  readonly #inner: PostgresDialect;
  readonly #guard: (error: unknown) => unknown;
  readonly #reached: () => void;

  constructor(inner: PostgresDialect, guard: (error: unknown) => unknown, reached: () => void) {
    this.#inner = inner;
    this.#guard = guard;
    this.#reached = reached;
  }

  createDriver(): Driver {
    return new GuardedDriver(this.#inner.createDriver(), this.#guard, this.#reached);
  }

  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    readonly guard: (error: unknown) => unknown,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(compiledQuery);
    } catch (error) {
      throw this.guard(error);
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (error) {
      throw this.guard(error);
    }
  }
}

class GuardedDriver implements Driver {
  readonly #inner: Driver;
  readonly #guard: (error: unknown) => unknown;
  readonly #reached: () => void;

  constructor(inner: Driver, guard: (error: unknown) => unknown, reached: () => void) {
    this.#inner = inner;
    this.#guard = guard;
    this.#reached = reached;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    try {
      const connection = await this.#inner.acquireConnection();
      this.#reached();
      return new GuardedConnection(connection, this.#guard);
    } catch (error) {
      throw this.#guard(error);
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.#run(() => this.#inner.beginTransaction(unwrap(connection), settings));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#run(() => this.#inner.commitTransaction(unwrap(connection)));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#run(() => this.#inner.rollbackTransaction(unwrap(connection)));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.#run(() => this.#inner.savepoint?.(unwrap(connection), name, compile) ?? Promise.resolve());
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]): Promise<void> {
    await this.#run(() => this.#inner.rollbackToSavepoint?.(unwrap(connection), name, compile) ?? Promise.resolve());
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]): Promise<void> {
    await this.#run(() => this.#inner.releaseSavepoint?.(unwrap(connection), name, compile) ?? Promise.resolve());
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }

  async #run(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      throw this.#guard(error);
    }
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof GuardedConnection ? connection.inner : connection;
}
