/**
 * A real PostgreSQL 15 (Debian's postgresql) for tests, on a loopback port in a temp dir.
 *
 *   let pg: PostgresHandle;
 *   beforeAll(async () => { pg = await startPostgres(); });
 *   afterAll(async () => { await pg?.stop(); });
 *   const url = await pg.createDatabase('t1'); // postgres://outpost:<password>@127.0.0.1:<port>/t1
 *
 * PostgreSQL refuses to run as root: initdb runs through `runuser -u postgres`, and the server
 * through `setpriv` as the postgres user — setpriv execs, so the process the harness signals is
 * the postmaster itself and kill() really kills it (runuser would fork and keep it alive).
 * One instance per test file, one database per test. fsync is off (tests, not power cuts); commits are
 * synchronous, so a commit is in the WAL (the OS's cache) before it answers and survives kill().
 * Fault tests: `await pg.kill()` (SIGKILL, data stays) then `await pg.restart()` (same port, same data).
 * Needs /usr/lib/postgresql/15/bin: `bash scripts/install-test-deps.sh` installs it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { serviceTimeoutMs } from './service-timeout.js';
import { ServiceError, serviceHandle, spawnService, type ServiceContext, type ServiceHandle } from './spawn-service.js';

export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';
const SETPRIV = '/usr/bin/setpriv';
const RUNUSER = '/usr/sbin/runuser';
const OS_USER = 'postgres';
/** The superuser initdb creates; the platform connects as it with a password over TCP. */
const DB_USER = 'outpost';

export interface StartPostgresOptions {
  /** Deadline for the server to accept a query (default 30 s, or OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
  readonly startTimeoutMs?: number;
  /** Deadline for a graceful exit after SIGTERM before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
}

/**
 * PostgreSQL (its dir holds the cluster, `data/`, and the unix socket; stop() is a fast
 * shutdown, kill() SIGKILLs the postmaster; ready when it answers a query).
 */
export interface PostgresHandle extends ServiceHandle {
  /** The `postgres` maintenance database: postgres://outpost:<password>@127.0.0.1:<port>/postgres. */
  readonly url: string;
  readonly port: number;
  /** The superuser's password (in every URL this handle gives). */
  readonly password: string;
  /** Creates an empty database (UTF8, C collation) and answers its URL. */
  createDatabase(name: string): Promise<string>;
}

const exec = promisify(execFile);

/** Starts PostgreSQL and resolves once it answers `select 1` over TCP with the password. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresHandle> {
  for (const binary of ['postgres', 'initdb']) {
    try {
      await access(path.join(POSTGRES_BIN_DIR, binary), fsConstants.X_OK);
    } catch (cause) {
      throw new ServiceError('TEST_ERR_SERVICE_MISSING', `postgres: ${path.join(POSTGRES_BIN_DIR, binary)} is not installed; run \`bash scripts/install-test-deps.sh\` (as root) to install the Debian package postgresql`, { cause });
    }
  }
  const password = randomBytes(12).toString('hex');
  const service = await spawnService<true>({
    name: 'postgres',
    // setpriv execs the postmaster as postgres (the arguments from configure() name it).
    executable: SETPRIV,
    installHint: 'run `bash scripts/install-test-deps.sh` (as root) to install the Debian package postgresql',
    tempDirPrefix: 'outpost-postgres-',
    portCount: 1,
    configure: (ctx) => configure(ctx, password),
    probe: async ({ ports }) => {
      await query(urlOf(portOf(ports), password, 'postgres'), 'select 1');
      return true;
    },
    startTimeoutMs: options.startTimeoutMs ?? serviceTimeoutMs(30_000),
    stopTimeoutMs: options.stopTimeoutMs ?? serviceTimeoutMs(10_000),
    // PG* variables (PGDATA, PGPORT, …) would override the command line or the probe's target.
    dropEnvPrefixes: ['PG'],
    portConflict: /could not bind|address already in use/i,
  });
  const port = portOf(service.ports);
  return serviceHandle(service, {
    url: urlOf(port, password, 'postgres'),
    port,
    password,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`postgres: database name "${name}" must match [a-z_][a-z0-9_]*`);
      await query(urlOf(port, password, 'postgres'), `create database "${name}" template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`);
      return urlOf(port, password, name);
    },
  });
}

function urlOf(port: number, password: string, database: string): string {
  return `postgres://${DB_USER}:${password}@127.0.0.1:${port}/${database}`;
}

function portOf(ports: readonly number[]): number {
  const port = ports[0];
  if (port === undefined) throw new Error('postgres: no port was allocated');
  return port;
}

async function query(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  // A server going away mid-probe emits 'error' on the client; the failed query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the cluster once (initdb as postgres: trust on the unix socket, scram-sha-256 over
 * TCP, C locale) and answers the server's arguments — run through setpriv as postgres.
 */
async function configure(ctx: ServiceContext, password: string): Promise<readonly string[]> {
  const data = path.join(ctx.dir, 'data');
  const { uid, gid } = await osUser();
  await chown(ctx.dir, uid, gid);
  if (!(await exists(path.join(data, 'PG_VERSION')))) {
    const pwfile = path.join(ctx.dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    await chown(pwfile, uid, gid);
    await mkdir(data, { mode: 0o700 });
    await chown(data, uid, gid);
    await exec(RUNUSER, ['-u', OS_USER, '--', path.join(POSTGRES_BIN_DIR, 'initdb'), '-D', data, `--username=${DB_USER}`, `--pwfile=${pwfile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '--no-locale', '--encoding=UTF8', '--no-sync'], { cwd: ctx.dir, timeout: serviceTimeoutMs(60_000) });
  }
  return [
    `--reuid=${OS_USER}`, `--regid=${OS_USER}`, '--init-groups', '--',
    path.join(POSTGRES_BIN_DIR, 'postgres'), '-D', data,
    '-c', 'listen_addresses=127.0.0.1', '-c', `port=${portOf(ctx.ports)}`, '-c', `unix_socket_directories=${ctx.dir}`,
    '-c', 'fsync=off', '-c', 'full_page_writes=off',
    '-c', 'shared_buffers=32MB', '-c', 'max_connections=200', '-c', 'logging_collector=off', '-c', 'log_min_messages=warning',
  ];
}

async function osUser(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await exec('id', ['-u', OS_USER]);
  const { stdout: group } = await exec('id', ['-g', OS_USER]);
  return { uid: Number(stdout.trim()), gid: Number(group.trim()) };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
