/**
 * A real Redis (Debian's redis-server) for tests, on a free loopback port in a temp dir.
 *
 *   let redis: RedisHandle;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(async () => { await redis?.stop(); });
 *   // redis.url is "redis://127.0.0.1:<port>" (OUTPOST_REDIS_URL)
 *
 * Fault tests: `await redis.kill()` (SIGKILL) then `await redis.restart()` (same port, same
 * dir). By default nothing is persisted (`save ""`, no AOF: a restart starts empty, as a Redis
 * that lost its memory); `appendOnly: true` keeps the data across kill/restart (AOF, fsync always).
 * Deadlines scale with OUTPOST_TEST_SERVICE_TIMEOUT_MS. Needs /usr/bin/redis-server:
 * `bash scripts/install-test-deps.sh` installs it.
 */
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serviceTimeoutMs } from './service-timeout.js';
import { serviceHandle, spawnService, type ServiceContext, type ServiceHandle } from './spawn-service.js';

export const REDIS_EXECUTABLE = '/usr/bin/redis-server';

export interface StartRedisOptions {
  /** Keep the data across kill()/restart() in an append-only file (fsync always); default false. */
  readonly appendOnly?: boolean;
  /** Deadline for PING to answer PONG (default 10 s, or OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
  readonly startTimeoutMs?: number;
  /** Deadline for a graceful exit after SIGTERM before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** The redis-server binary (default /usr/bin/redis-server). */
  readonly executable?: string;
}

/** redis-server (its dir holds redis.conf, and the AOF with appendOnly; ready when PING answers). */
export interface RedisHandle extends ServiceHandle {
  /** "redis://127.0.0.1:<port>". */
  readonly url: string;
  readonly port: number;
  /**
   * Sends one command over a fresh connection and answers the reply as text: a status or error
   * line as sent ("+PONG", "-ERR …"), an integer as ":3", a bulk string as its content, a nil as null.
   */
  command(...args: string[]): Promise<string | null>;
}

/** Starts redis-server and resolves once PING answers PONG. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const service = await spawnService<true>({
    name: 'redis-server',
    executable: options.executable ?? REDIS_EXECUTABLE,
    installHint: 'run `bash scripts/install-test-deps.sh` (as root) to install the Debian package redis-server',
    tempDirPrefix: 'outpost-redis-',
    portCount: 1,
    configure: (ctx) => writeRedisConfig(ctx, options.appendOnly ?? false),
    probe: async ({ ports }) => ((await sendCommand(portOf(ports), ['PING'])) === '+PONG' ? true : undefined),
    startTimeoutMs: options.startTimeoutMs ?? serviceTimeoutMs(10_000),
    stopTimeoutMs: options.stopTimeoutMs ?? serviceTimeoutMs(10_000),
    portConflict: /address already in use/i,
  });
  const port = portOf(service.ports);
  return serviceHandle(service, {
    url: `redis://127.0.0.1:${port}`,
    port,
    command: (...args: string[]) => sendCommand(port, args),
  });
}

function portOf(ports: readonly number[]): number {
  const port = ports[0];
  if (port === undefined) throw new Error('redis-server: no port was allocated');
  return port;
}

/** Loopback only, no password, everything under the temp dir, logs to stdout. */
async function writeRedisConfig(ctx: ServiceContext, appendOnly: boolean): Promise<readonly string[]> {
  const file = path.join(ctx.dir, 'redis.conf');
  const config = `# Written by @outpost/e2e startRedis()
bind 127.0.0.1
port ${portOf(ctx.ports)}
protected-mode yes
daemonize no
dir ${JSON.stringify(ctx.dir)}
logfile ""
loglevel warning
save ""
appendonly ${appendOnly ? 'yes' : 'no'}
appendfsync always
databases 1
`;
  await writeFile(file, config, { mode: 0o600 });
  return [file];
}

/** One command over a fresh connection: "+PONG", ":3", a bulk string's content, or null for a nil. */
function sendCommand(port: number, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy(new Error(`redis ${args[0] ?? ''} timed out after 1000 ms`)));
    socket.once('connect', () => {
      const encoded = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
      socket.write(encoded);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      const first = reply.slice(0, end);
      if (!first.startsWith('$')) {
        socket.end();
        resolve(first);
        return;
      }
      const length = Number(first.slice(1));
      if (length < 0) {
        socket.end();
        resolve(null);
        return;
      }
      const body = Buffer.from(reply.slice(end + 2), 'utf8');
      if (body.length >= length + 2) {
        socket.end();
        resolve(body.subarray(0, length).toString('utf8'));
      }
    });
    socket.once('error', reject);
  });
}
