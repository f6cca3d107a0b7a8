/**
 * A real InfluxDB 1.x (Debian's influxd) for tests, on loopback ports in a temp dir.
 *
 *   let influx: InfluxdHandle;
 *   beforeAll(async () => { influx = await startInfluxd(); });
 *   afterAll(async () => { await influx?.stop(); });
 *   // influx.url is "http://127.0.0.1:<port>"; create a database with POST /query
 *   // (queryInfluxQL from @outpost/telemetry), write through createInfluxV1Transport.
 *
 * Fault tests: `await influx.kill()` (SIGKILL, data stays) then `await influx.restart()`
 * (same ports, same data). Deadlines scale with OUTPOST_TEST_SERVICE_TIMEOUT_MS.
 * Needs /usr/bin/influxd: `bash scripts/install-test-deps.sh` installs it.
 */
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serviceTimeoutMs } from './service-timeout.js';
import { serviceHandle, spawnService, type ServiceContext, type ServiceHandle } from './spawn-service.js';

export const INFLUXD_EXECUTABLE = '/usr/bin/influxd';

export interface StartInfluxdOptions {
  /** Deadline for GET /ping to answer 204 (default 15 s, or OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
  readonly startTimeoutMs?: number;
  /** Deadline for a graceful exit after SIGTERM before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** The influxd binary (default /usr/bin/influxd). */
  readonly executable?: string;
}

/** influxd (its dir holds the config, meta, data and wal; it logs at level warn; ready when /ping answers). */
export interface InfluxdHandle extends ServiceHandle {
  /** Base URL of the HTTP API: "http://127.0.0.1:<httpPort>". */
  readonly url: string;
  readonly httpPort: number;
  /** The RPC (backup/restore) port, bound to loopback too. */
  readonly rpcPort: number;
  /** The X-Influxdb-Version header of the last successful /ping, e.g. "1.6.7~rc0". */
  readonly version: string;
}

interface PingInfo {
  readonly version: string;
}

/** Starts influxd and resolves once GET /ping answers 204. */
export async function startInfluxd(options: StartInfluxdOptions = {}): Promise<InfluxdHandle> {
  const service = await spawnService<PingInfo>({
    name: 'influxd',
    executable: options.executable ?? INFLUXD_EXECUTABLE,
    installHint: 'run `bash scripts/install-test-deps.sh` (as root) to install the Debian package influxdb',
    tempDirPrefix: 'outpost-influxd-',
    portCount: 2,
    configure: writeInfluxdConfig,
    probe: ({ ports }) => ping(httpPortOf(ports)),
    startTimeoutMs: options.startTimeoutMs ?? serviceTimeoutMs(15_000),
    stopTimeoutMs: options.stopTimeoutMs ?? serviceTimeoutMs(10_000),
    // INFLUXDB_* variables override the config file; a developer's shell must not leak in.
    dropEnvPrefixes: ['INFLUXDB_'],
    portConflict: /address already in use/i,
  });
  const httpPort = httpPortOf(service.ports);
  return serviceHandle(service, {
    url: `http://127.0.0.1:${httpPort}`,
    httpPort,
    rpcPort: rpcPortOf(service.ports),
    get version() {
      return service.info.version;
    },
  });
}

function httpPortOf(ports: readonly number[]): number {
  return portAt(ports, 0);
}

function rpcPortOf(ports: readonly number[]): number {
  return portAt(ports, 1);
}

function portAt(ports: readonly number[], index: number): number {
  const port = ports[index];
  if (port === undefined) throw new Error(`influxd: port #${index} was not allocated`);
  return port;
}

/**
 * Writes a config for influxd 1.6.7 (sections checked against `influxd config`): everything
 * under the temp dir, loopback only, quiet, no background jobs that tests don't need.
 */
async function writeInfluxdConfig(ctx: ServiceContext): Promise<readonly string[]> {
  const file = path.join(ctx.dir, 'influxdb.conf');
  const quoted = (value: string): string => JSON.stringify(value);
  const config = `# Written by @outpost/e2e startInfluxd()
bind-address = ${quoted(`127.0.0.1:${rpcPortOf(ctx.ports)}`)}
# Upstream's key; Debian's build reads reporting-enabled (default false). Unknown keys are ignored.
reporting-disabled = true
reporting-enabled = false

[meta]
  dir = ${quoted(path.join(ctx.dir, 'meta'))}
  logging-enabled = false

[data]
  dir = ${quoted(path.join(ctx.dir, 'data'))}
  wal-dir = ${quoted(path.join(ctx.dir, 'wal'))}
  index-version = "inmem"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = ${quoted(`127.0.0.1:${httpPortOf(ctx.ports)}`)}
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[ifql]
  enabled = false
`;
  await writeFile(file, config, { mode: 0o600 });
  return ['-config', file];
}

/** GET /ping: the version when influxd answers 204, undefined for any other status; throws on connection errors. */
function ping(port: number): Promise<PingInfo | undefined> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/ping', agent: false, timeout: 1_000 },
      (response) => {
        response.resume();
        response.once('end', () => {
          const header = response.headers['x-influxdb-version'];
          const version = Array.isArray(header) ? header[0] : header;
          resolve(response.statusCode === 204 ? { version: version ?? 'unknown' } : undefined);
        });
        response.once('error', reject);
      },
    );
    request.once('timeout', () => request.destroy(new Error('GET /ping timed out after 1000 ms')));
    request.once('error', reject);
  });
}
