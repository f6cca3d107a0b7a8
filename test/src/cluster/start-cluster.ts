/**
 * A whole Outpost cluster on one machine (issue 15, docs/adr/0011-roles.md): Redis, PostgreSQL,
 * influxd, HAProxy, N broker nodes and M control nodes as real `outpost server --role …`
 * processes. Used by the cluster tests, the cluster bench and `npm run cluster`.
 *
 * Every node gets its own loopback address (brokers 127.0.0.11…, controls 127.0.0.21…) with the
 * same three port numbers HAProxy listens on at 127.0.0.1, so what a node tells devices
 * (OUTPOST_PUBLIC_HOST=127.0.0.1 and its own port numbers) leads them through HAProxy, as one
 * name and port in front of many machines would. All nodes share the secret key, the state
 * database, Redis, InfluxDB and one firmware directory; each has its own data dir (spool, logs).
 *
 *   const cluster = await startCluster({ brokers: 3, controls: 1 });
 *   cluster.haproxy.mqttUrl; cluster.operatorUrl; await cluster.node('broker-2').kill(); await cluster.node('broker-2').start();
 *   await cluster.stop();
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHaproxy, type HaproxyBackend, type HaproxyHandle } from '../services/haproxy.js';
import { startInfluxd, type InfluxdHandle } from '../services/influxd.js';
import { BENCH_PASSWORD, startServerProcess, type ServerProcess } from '../services/outpost-server.js';
import { startPostgres, type PostgresHandle } from '../services/postgres.js';
import { startRedis, type RedisHandle } from '../services/redis.js';
import { waitFor } from '../services/wait-for.js';

export interface StartClusterOptions {
  readonly brokers?: number;
  readonly controls?: number;
  /** Added to every node's environment (e.g. OUTPOST_LEASE_TTL, OUTPOST_LOG_LEVEL). */
  readonly env?: Record<string, string>;
  /** Where node data dirs and the shared firmware dir go (default: a temp dir removed by stop()). */
  readonly dir?: string;
  /** The initial admin's password (default the bench password). */
  readonly adminPassword?: string;
  /** Per node start deadline (default 90 s: a loaded 2-core machine). */
  readonly nodeTimeoutMs?: number;
  /** HAProxy's health-check interval (default 1 s). */
  readonly checkIntervalMs?: number;
  /**
   * HAProxy's global maxconn, which is also each frontend's limit (default startHaproxy's 8000).
   * Connections past it wait in the listen queue unanswered: raise it above the sessions a run holds.
   */
  readonly haproxyMaxConnections?: number;
  /** Told about each step (the `npm run cluster` banner prints them). */
  readonly progress?: (message: string) => void;
}

export interface ClusterNode {
  readonly name: string;
  readonly role: 'broker' | 'control';
  /** Its own loopback address. */
  readonly host: string;
  readonly operatorUrl: string;
  readonly mqttUrl: string;
  readonly deviceUrl: string;
  readonly dataDir: string;
  /** The running process (undefined while killed or stopped). */
  readonly process: ServerProcess | undefined;
  /** SIGKILL, no shutdown: the data dir stays. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same address, ports and data dir; resolves once /readyz answers 200. */
  start(): Promise<void>;
  /** What every process of this node wrote (stdout and stderr, the first MB each), oldest first: for a failed test's report. */
  outputs(): string[];
}

export interface ClusterHandle {
  readonly redis: RedisHandle;
  readonly postgres: PostgresHandle;
  readonly influx: InfluxdHandle;
  readonly haproxy: HaproxyHandle;
  readonly nodes: readonly ClusterNode[];
  /** The operator API and dashboard through HAProxy. */
  readonly operatorUrl: string;
  readonly databaseUrl: string;
  /** The InfluxDB database telemetry lands in. */
  readonly influxDb: string;
  readonly adminPassword: string;
  readonly dir: string;
  node(name: string): ClusterNode;
  stop(): Promise<void>;
}

const INFLUX_DB = 'outpost';

export async function startCluster(options: StartClusterOptions = {}): Promise<ClusterHandle> {
  const brokers = options.brokers ?? 3;
  const controls = options.controls ?? 1;
  if (brokers < 1 || controls < 1 || brokers > 9 || controls > 9) throw new Error('startCluster: 1 to 9 broker nodes and 1 to 9 control nodes');
  const progress = options.progress ?? ((): void => undefined);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'outpost-cluster-')));
  const adminPassword = options.adminPassword ?? BENCH_PASSWORD;
  const opened: { stop(): Promise<void> }[] = [];
  const nodes: Node[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    for (const service of opened.reverse()) await service.stop().catch(() => undefined);
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    progress('starting Redis, PostgreSQL and InfluxDB');
    const [redis, postgres, influx] = await Promise.all([startRedis(), startPostgres(), startInfluxd()]);
    opened.push(redis, postgres, influx);
    const databaseUrl = await postgres.createDatabase('outpost');
    const plan = [
      ...Array.from({ length: controls }, (_, i) => ({ name: `control-${i + 1}`, role: 'control' as const, host: `127.0.0.${21 + i}` })),
      ...Array.from({ length: brokers }, (_, i) => ({ name: `broker-${i + 1}`, role: 'broker' as const, host: `127.0.0.${11 + i}` })),
    ];
    progress('starting HAProxy');
    const haproxy = await startHaproxy({
      checkIntervalMs: options.checkIntervalMs ?? 1_000,
      ...(options.haproxyMaxConnections === undefined ? {} : { maxConnections: options.haproxyMaxConnections }),
      backends: (ports): HaproxyBackend[] => plan.map((p) => ({ name: p.name, role: p.role, host: p.host, mqttPort: ports.mqtt, devicePort: ports.device, operatorPort: ports.operator })),
    });
    opened.push(haproxy);
    const firmwareDir = path.join(dir, 'firmware');
    await mkdir(firmwareDir, { recursive: true, mode: 0o700 });
    const shared: Record<string, string> = {
      OUTPOST_SECRET_KEY: randomBytes(32).toString('hex'),
      OUTPOST_DATABASE_URL: databaseUrl,
      OUTPOST_REDIS_URL: redis.url,
      OUTPOST_INFLUX_URL: influx.url,
      OUTPOST_INFLUX_API: 'v1',
      OUTPOST_INFLUX_DB: INFLUX_DB,
      OUTPOST_FIRMWARE_DIR: firmwareDir,
      OUTPOST_PUBLIC_HOST: '127.0.0.1',
      OUTPOST_SERVER_NAMES: '127.0.0.1,localhost',
      OUTPOST_ADMIN_PASSWORD: adminPassword,
      OUTPOST_LEASE_TTL: '3s',
      // Harness tooling logs in once per enrolled device (enrollDevices), through one address.
      OUTPOST_LOGIN_RATE_LIMIT: '100000',
      OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT: '100000',
      OUTPOST_LOG_LEVEL: 'warn',
      ...options.env,
    };
    for (const p of plan) {
      nodes.push(new Node({ ...p, dataDir: path.join(dir, p.name), ports: { operator: haproxy.operatorPort, device: haproxy.devicePort, mqtt: haproxy.mqttPort }, env: shared, timeoutMs: options.nodeTimeoutMs ?? 90_000 }));
    }
    // The first control node creates the schema, the CA and the admin; the others then start together.
    const [first, ...rest] = nodes;
    if (first === undefined) throw new Error('startCluster: no node planned');
    progress(`starting ${first.name} (creates the schema, the CA and the admin)`);
    await first.start();
    progress(`starting ${rest.map((n) => n.name).join(', ')}`);
    await Promise.all(rest.map((node) => node.start()));
    progress('waiting for HAProxy to see every node up');
    await waitFor(async () => Object.values(await haproxy.serverStates()).every((state) => state === 'UP'), {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: 'HAProxy marking every node UP',
    });
    return {
      redis,
      postgres,
      influx,
      haproxy,
      nodes,
      operatorUrl: haproxy.operatorUrl,
      databaseUrl,
      influxDb: INFLUX_DB,
      adminPassword,
      dir,
      node(name) {
        const found = nodes.find((n) => n.name === name);
        if (found === undefined) throw new Error(`no cluster node ${name} (there are ${nodes.map((n) => n.name).join(', ')})`);
        return found;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

class Node implements ClusterNode {
  readonly name: string;
  readonly role: 'broker' | 'control';
  readonly host: string;
  readonly dataDir: string;
  readonly operatorUrl: string;
  readonly mqttUrl: string;
  readonly deviceUrl: string;
  readonly #env: Record<string, string>;
  readonly #timeoutMs: number;
  #process: ServerProcess | undefined;
  /** Processes of this node that were killed or stopped (their output stays readable). */
  readonly #past: ServerProcess[] = [];

  constructor(init: { name: string; role: 'broker' | 'control'; host: string; dataDir: string; ports: { operator: number; device: number; mqtt: number }; env: Record<string, string>; timeoutMs: number }) {
    this.name = init.name;
    this.role = init.role;
    this.host = init.host;
    this.dataDir = init.dataDir;
    this.operatorUrl = `http://${init.host}:${init.ports.operator}`;
    this.deviceUrl = `https://${init.host}:${init.ports.device}`;
    this.mqttUrl = `mqtts://${init.host}:${init.ports.mqtt}`;
    this.#timeoutMs = init.timeoutMs;
    this.#env = {
      ...init.env,
      OUTPOST_ROLE: init.role,
      OUTPOST_DATA_DIR: init.dataDir,
      OUTPOST_HTTP_HOST: init.host,
      OUTPOST_HTTP_PORT: String(init.ports.operator),
      OUTPOST_DEVICE_HOST: init.host,
      OUTPOST_DEVICE_PORT: String(init.ports.device),
      OUTPOST_MQTT_HOST: init.host,
      OUTPOST_MQTT_PORT: String(init.ports.mqtt),
    };
  }

  get process(): ServerProcess | undefined {
    return this.#process;
  }

  async start(): Promise<void> {
    if (this.#process !== undefined) return;
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    this.#process = await startServerProcess(this.dataDir, this.#env, {
      timeoutMs: this.#timeoutMs,
      urls: { operatorUrl: this.operatorUrl, deviceUrl: this.deviceUrl, mqttUrl: this.mqttUrl },
    });
  }

  outputs(): string[] {
    return [...this.#past, ...(this.#process === undefined ? [] : [this.#process])].map((p) => p.output());
  }

  async kill(): Promise<void> {
    const running = this.#process;
    this.#process = undefined;
    if (running === undefined) return;
    this.#past.push(running);
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    await running.exited;
  }

  async stop(): Promise<void> {
    const running = this.#process;
    this.#process = undefined;
    if (running !== undefined) this.#past.push(running);
    await running?.stop();
  }
}
