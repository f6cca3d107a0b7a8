import { isIP } from 'node:net';
import { isHost } from './parse-value.js';
import { decodeSecretKey } from './secret-key.js';
import { parseRuntimeChoice } from '@outpost/edge-agent/bundle';

/**
 * The one table of configuration keys: every setting of `outpost server`, its
 * type, default and meaning. `loadConfig` validates against it and
 * `describeConfig` renders it for `--help` and the README.
 *
 * Where a value comes from (highest first): the environment, then the file
 * given with `--config`, then the default below. An empty value counts as
 * unset. Relative paths are resolved against the working directory.
 */

export type ConfigValueType =
  | 'string'
  | 'host'
  | 'port'
  | 'int'
  | 'positive-int'
  | 'duration'
  | 'size'
  | 'bool'
  | 'enum'
  | 'list'
  | 'path'
  | 'url';

export interface ConfigKeySpec {
  /** Environment variable, also the key in a config file. */
  readonly env: string;
  /** Where the value lands in `OutpostConfig` (dotted); empty for refused keys. */
  readonly path: string;
  readonly type: ConfigValueType;
  /** Default as text, parsed like a user value. Absent = unset or computed (see `defaultText`). */
  readonly default?: string;
  /** How `--help` shows a computed or absent default. */
  readonly defaultText?: string;
  /** One sentence: what the setting does. */
  readonly doc: string;
  /** Never printed: error messages say "value hidden". */
  readonly secret?: boolean;
  /** Bounds: integers as numbers, durations in ms, sizes in bytes. */
  readonly min?: number;
  readonly max?: number;
  /** Accepted values of an `enum`. */
  readonly values?: readonly string[];
  /** Minimum length of a `string`. */
  readonly minLength?: number;
  /** An extra rule on a `string`: returns what is expected when the value breaks it. */
  readonly check?: (value: string) => string | undefined;
  /** Set = any value is refused as "not supported yet"; the text says why. */
  readonly refused?: string;
}

/** `OUTPOST_AGENT_RUNTIME` (issue 17): none, ARCH or ARCH@VERSION. */
const agentRuntimeFormat = (value: string): string | undefined => {
  const parsed = parseRuntimeChoice(value);
  return parsed.ok ? undefined : `none, arm64, armv7l, x64 or ARCH@VERSION (${parsed.reason})`;
};

const DAY_MS = 86_400_000;
const MAX_DAYS = 3650;

/** OUTPOST_REDIS_URL (issue 15): a redis:// or rediss:// URL with a host. */
const redisUrlFormat = (value: string): string | undefined => {
  const expected = 'a redis:// or rediss:// URL with a host (e.g. redis://127.0.0.1:6379)';
  if (!URL.canParse(value)) return expected;
  const url = new URL(value);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return expected;
  if (url.hostname === '') return expected;
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) return `${expected}; the path, if any, is a database number such as /0`;
  return undefined;
};

const secretKeyFormat = (value: string): string | undefined =>
  decodeSecretKey(value) === undefined
    ? '32 bytes as 64 hex characters or 44 base64 characters (e.g. from `openssl rand -hex 32`)'
    : undefined;

/** `OUTPOST_WEBHOOK_ALLOW_HOSTS`: host names, IP addresses or CIDRs, comma-separated. */
const hostOrCidrList = (value: string): string | undefined => {
  const expected = 'a comma-separated list of host names, IP addresses or CIDRs (e.g. 127.0.0.1/32)';
  const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) return expected;
  for (const item of items) {
    const [address = '', prefix, extra] = item.split('/');
    if (prefix === undefined ? !isHost(address) : extra !== undefined || isIP(address) === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > (isIP(address) === 4 ? 32 : 128)) {
      return `${expected}; "${item}" is not one`;
    }
  }
  return undefined;
};

/** OUTPOST_DATABASE_URL (issue 15): a postgres:// URL with a host and one database; the value is never printed. */
const databaseUrlFormat = (value: string): string | undefined => {
  const expected = 'a postgres:// or postgresql:// URL with a host and a database (e.g. postgres://outpost:password@127.0.0.1:5432/outpost)';
  if (!URL.canParse(value)) return expected;
  const url = new URL(value);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return expected;
  if (url.hostname === '' && url.searchParams.get('host') === null) return expected;
  const database = url.pathname.replace(/^\//, '');
  if (database === '' || database.includes('/')) return expected;
  return undefined;
};

const KEYS = [
  { env: 'OUTPOST_DATA_DIR', path: 'dataDir', type: 'path', default: './outpost-data',
    doc: 'Directory of the state database, CA, spool and blobs.' },
  { env: 'OUTPOST_SECRET_KEY', path: 'secretKey', type: 'string', secret: true, check: secretKeyFormat,
    defaultText: 'read from OUTPOST_SECRET_KEY_FILE',
    doc: 'Key (64 hex or 44 base64 chars) that encrypts the CA and server-held keys at rest.' },
  { env: 'OUTPOST_SECRET_KEY_FILE', path: 'secretKeyFile', type: 'path', default: './outpost-secret.key',
    doc: 'File holding the secret key; generated (0600) when missing. Keep it outside the data dir and back it up separately.' },
  { env: 'OUTPOST_ALLOW_INSECURE_KEY_MODE', path: 'allowInsecureKeyMode', type: 'bool', default: 'false',
    doc: 'Start even when the secret key file is readable by group or others; otherwise the server refuses (fix: chmod 600 <file>).' },
  { env: 'OUTPOST_STRICT_FILE_MODES', path: 'strictFileModes', type: 'bool', default: 'false',
    doc: 'Refuse to start when the data dir, state.db, telemetry.sqlite, the spool or keys are open to group/other, instead of fixing them (0700/0600) with a warning.' },
  { env: 'OUTPOST_HTTP_HOST', path: 'http.host', type: 'host', default: '127.0.0.1',
    doc: 'Address of the operator listener (dashboard, REST API, metrics, health).' },
  { env: 'OUTPOST_HTTP_PORT', path: 'http.port', type: 'port', default: '8080',
    doc: 'Port of the operator listener; 0 picks a free port (the bound port is logged).' },
  { env: 'OUTPOST_HTTP_TLS_CERT', path: 'http.tls.certFile', type: 'path', defaultText: 'unset (plain HTTP)',
    doc: 'PEM certificate file for TLS on the operator listener; set together with OUTPOST_HTTP_TLS_KEY.' },
  { env: 'OUTPOST_HTTP_TLS_KEY', path: 'http.tls.keyFile', type: 'path', defaultText: 'unset (plain HTTP)',
    doc: 'PEM private key file for TLS on the operator listener; set together with OUTPOST_HTTP_TLS_CERT.' },
  { env: 'OUTPOST_HTTP_IDLE_TIMEOUT', path: 'http.idleTimeoutMs', type: 'duration', default: '20s', min: 1, max: 3_600_000,
    doc: 'Operator and device listeners close a connection on which nothing moved for this long (live streams excepted: they send heartbeats).' },
  { env: 'OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT', path: 'http.keepAliveTimeoutMs', type: 'duration', default: '5s', min: 1, max: 3_600_000,
    doc: 'Operator and device listeners close an idle kept-alive connection after this long.' },
  { env: 'OUTPOST_HTTP_REQUEST_TIMEOUT', path: 'http.requestTimeoutMs', type: 'duration', default: '2m', min: 1, max: 3_600_000,
    doc: 'Operator and device listeners answer 408 to a request not received completely within this long (uploads included).' },
  { env: 'OUTPOST_METRICS_TOKEN', path: 'metricsToken', type: 'string', secret: true, minLength: 16, defaultText: 'unset (/metrics is open)',
    doc: 'When set, GET /metrics needs "Authorization: Bearer <this token>".' },
  { env: 'OUTPOST_DEVICE_HOST', path: 'device.host', type: 'host', default: '0.0.0.0',
    doc: 'Address of the device HTTPS listener (enroll, renew, firmware, CRL).' },
  { env: 'OUTPOST_DEVICE_PORT', path: 'device.port', type: 'port', default: '8443',
    doc: 'Port of the device HTTPS listener; 0 picks a free port.' },
  { env: 'OUTPOST_MQTT_HOST', path: 'mqtt.host', type: 'host', default: '0.0.0.0',
    doc: 'Address of the MQTT over TLS listener.' },
  { env: 'OUTPOST_MQTT_PORT', path: 'mqtt.port', type: 'port', default: '8883',
    doc: 'Port of the MQTT over TLS listener; 0 picks a free port.' },
  { env: 'OUTPOST_MQTT_HANDSHAKE_TIMEOUT', path: 'mqtt.handshakeTimeoutMs', type: 'duration', default: '10s', min: 1, max: 600_000,
    doc: 'An MQTT socket whose TLS handshake is not done this long after accept is closed.' },
  { env: 'OUTPOST_MQTT_CONNECT_TIMEOUT', path: 'mqtt.connectTimeoutMs', type: 'duration', default: '10s', min: 1, max: 600_000,
    doc: 'An MQTT connection that sends no CONNECT this long after its TLS handshake is closed.' },
  { env: 'OUTPOST_MQTT_MAX_HANDSHAKES', path: 'mqtt.maxHandshakes', type: 'positive-int', default: '1000', max: 1_000_000,
    doc: 'Most MQTT sockets in their TLS handshake at once; more are closed on accept (counted in outpost_mqtt_handshakes_refused_total).' },
  { env: 'OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP', path: 'mqtt.maxHandshakesPerIp', type: 'positive-int', default: '50', max: 1_000_000,
    doc: 'Most MQTT sockets in their TLS handshake at once from one address; more are closed on accept.' },
  { env: 'OUTPOST_MQTT_MAX_PACKET_BYTES', path: 'mqtt.maxPacketBytes', type: 'size', min: 1, max: 268_435_455,
    defaultText: 'OUTPOST_LIMIT_PAYLOAD_BYTES + 64 KiB',
    doc: 'Largest MQTT packet (bytes after the fixed header) a client may send; a larger one drops the connection before its body is read.' },
  { env: 'OUTPOST_PUBLIC_HOST', path: 'publicHost', type: 'host',
    defaultText: 'first non-loopback IPv4 address, else localhost',
    doc: 'Host name devices use to reach the platform (put in agent bundles).' },
  { env: 'OUTPOST_SERVER_NAMES', path: 'serverNames', type: 'list',
    defaultText: 'public host, localhost, 127.0.0.1',
    doc: 'Comma-separated names (SANs) of the platform server certificate; a change reissues it.' },
  { env: 'OUTPOST_ADMIN_PASSWORD', path: 'adminPassword', type: 'string', secret: true, minLength: 12,
    defaultText: 'generated, printed once',
    doc: 'Initial password of the admin operator (at least 12 characters).' },
  { env: 'OUTPOST_DEVICE_CERT_DAYS', path: 'deviceCertDays', type: 'int', default: '90', min: 1, max: MAX_DAYS,
    doc: 'Lifetime of device certificates in days; agents renew after 2/3 of it.' },
  { env: 'OUTPOST_RENEW_GRACE_DAYS', path: 'renewGraceDays', type: 'int', default: '365', min: 0, max: MAX_DAYS,
    doc: 'Days after expiry during which a device may still renew by signing with its key.' },
  { env: 'OUTPOST_RENEW_FROM_PERCENT', path: 'renewFromPercent', type: 'int', default: '60', min: 0, max: 100,
    doc: 'How far into its lifetime a valid device certificate may be renewed with a new key (agents renew at 67); earlier, the same key gets the current certificate again and another key is refused (409).' },
  { env: 'OUTPOST_RENEW_RATE_LIMIT', path: 'renewRateLimit', type: 'positive-int', default: '6', max: 1_000_000,
    doc: 'Certificate renewals allowed per device within OUTPOST_RENEW_RATE_WINDOW (an agent renews once per 2/3 of a lifetime).' },
  { env: 'OUTPOST_RENEW_RATE_WINDOW', path: 'renewRateWindowMs', type: 'duration', default: '1h', min: 1_000, max: 30 * DAY_MS,
    doc: 'Window of OUTPOST_RENEW_RATE_LIMIT.' },
  { env: 'OUTPOST_LIMIT_PAYLOAD_BYTES', path: 'limits.maxPayloadBytes', type: 'size', default: '256 KiB', min: 1,
    doc: 'Largest MQTT payload a device may publish.' },
  { env: 'OUTPOST_LIMIT_SAMPLES', path: 'limits.maxSamples', type: 'positive-int', default: '1000',
    doc: 'Most samples in one telemetry batch.' },
  { env: 'OUTPOST_LIMIT_METRICS', path: 'limits.maxMetrics', type: 'positive-int', default: '100',
    doc: 'Most metrics in one sample.' },
  { env: 'OUTPOST_LIMIT_MSGS_PER_S', path: 'limits.msgsPerS', type: 'positive-int', default: '100',
    doc: 'Messages per second a device may publish.' },
  { env: 'OUTPOST_LIMIT_BYTES_PER_S', path: 'limits.bytesPerS', type: 'size', default: '1 MiB', min: 1,
    doc: 'Bytes per second a device may publish.' },
  { env: 'OUTPOST_INFLUX_URL', path: 'influx.url', type: 'url', defaultText: 'unset (embedded store)',
    doc: 'InfluxDB base URL (http or https); unset keeps telemetry in the embedded store.' },
  { env: 'OUTPOST_INFLUX_API', path: 'influx.api', type: 'enum', default: 'auto', values: ['auto', 'v1', 'v2'],
    doc: "InfluxDB API: auto detects 1.x or 2.x/3.x from /ping's X-Influxdb-Version." },
  { env: 'OUTPOST_INFLUX_TOKEN', path: 'influx.token', type: 'string', secret: true,
    doc: 'InfluxDB API token (v2).' },
  { env: 'OUTPOST_INFLUX_ORG', path: 'influx.org', type: 'string', doc: 'InfluxDB organization (v2).' },
  { env: 'OUTPOST_INFLUX_BUCKET', path: 'influx.bucket', type: 'string', doc: 'InfluxDB bucket (v2).' },
  { env: 'OUTPOST_INFLUX_DB', path: 'influx.db', type: 'string', default: 'outpost', doc: 'InfluxDB database (v1).' },
  { env: 'OUTPOST_INFLUX_RP', path: 'influx.rp', type: 'string', doc: 'InfluxDB retention policy (v1).' },
  // InfluxDB rollup (issue 12, ADR 0008): unset keys keep the store's defaults.
  { env: 'OUTPOST_INFLUX_ROLLUP', path: 'influx.rollup.enabled', type: 'bool', defaultText: 'true',
    doc: 'InfluxDB 1.x: keep the minute/hour rollup that long-range charts read (false = charts scan raw points).' },
  { env: 'OUTPOST_INFLUX_ROLLUP_INTERVAL', path: 'influx.rollup.intervalMs', type: 'duration', defaultText: '1m', min: 1_000, max: 3_600_000,
    doc: 'How often the InfluxDB rollup rolls up the minutes that ended.' },
  { env: 'OUTPOST_INFLUX_ROLLUP_SETTLE', path: 'influx.rollup.settleMs', type: 'duration', defaultText: '2m', min: 0, max: 86_400_000,
    doc: 'How long after a minute ends the InfluxDB rollup takes it (later points are rolled up by their write).' },
  { env: 'OUTPOST_INFLUX_USERNAME', path: 'influx.username', type: 'string',
    doc: 'InfluxDB user (v1); set together with OUTPOST_INFLUX_PASSWORD.' },
  { env: 'OUTPOST_INFLUX_PASSWORD', path: 'influx.password', type: 'string', secret: true,
    doc: 'InfluxDB password (v1); set together with OUTPOST_INFLUX_USERNAME.' },
  { env: 'OUTPOST_SPOOL_MAX_BYTES', path: 'spoolMaxBytes', type: 'size', default: '1 GiB', min: 1,
    doc: 'Bound of the ingest spool that holds telemetry while the store is unavailable.' },
  { env: 'OUTPOST_RETENTION_DAYS', path: 'retentionDays', type: 'positive-int', default: '30', max: 36_500,
    doc: 'Days the embedded store keeps telemetry.' },
  { env: 'OUTPOST_LOG_LEVEL', path: 'logLevel', type: 'enum', default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level (pino).' },
  { env: 'OUTPOST_LOG_FORMAT', path: 'logFormat', type: 'enum', default: 'auto', values: ['auto', 'pretty', 'json'],
    doc: 'How `outpost server` and `outpost demo` log: json = JSON lines on stdout; pretty = short readable lines on stdout (no per-request lines; the demo shows warnings only) and the full JSON log in DATA_DIR/logs/outpost.log; auto = pretty on a terminal, else json. The --log-format flag overrides it.' },
  { env: 'OUTPOST_SHUTDOWN_TIMEOUT', path: 'shutdownTimeoutMs', type: 'duration', default: '10s', min: 1, max: 3_600_000,
    doc: 'Deadline for a graceful shutdown before remaining connections are dropped.' },
  { env: 'OUTPOST_SESSION_TTL', path: 'sessionTtlMs', type: 'duration', default: '12h', min: 1_000, max: 365 * DAY_MS,
    doc: 'Lifetime of an operator login token.' },
  { env: 'OUTPOST_LOGIN_RATE_LIMIT', path: 'loginRateLimitPerMin', type: 'positive-int', default: '10', max: 100_000,
    doc: 'Login attempts allowed per minute from one IP address, and for one user from one IP address (over it: 429).' },
  { env: 'OUTPOST_ENROLL_RATE_LIMIT', path: 'enrollRateLimitPerMin', type: 'positive-int', default: '3000', max: 1_000_000,
    doc: 'Enrollments and signed renewals allowed per minute from one IP address (a factory line sits behind one address).' },
  { env: 'OUTPOST_STREAM_TOKEN_TTL', path: 'streamTokenTtlMs', type: 'duration', default: '60s', min: 1_000, max: DAY_MS,
    doc: 'Lifetime of the short-lived token that opens a live event stream.' },
  { env: 'OUTPOST_LIVE_RECHECK_INTERVAL', path: 'liveRecheckMs', type: 'duration', default: '5s', min: 1, max: 3_600_000,
    doc: 'How often an open live stream re-checks that its user and session still exist (logout, deletion and role changes close it at once).' },
  { env: 'OUTPOST_OTA_TICK', path: 'otaTickMs', type: 'duration', default: '1s', min: 1, max: 3_600_000,
    doc: 'How often OTA rollouts advance: next waves, health gates, per-device timeouts and scheduled starts are evaluated on this beat.' },
  { env: 'OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT', path: 'loginAccountRateLimitPerMin', type: 'positive-int', default: '30', max: 1_000_000,
    doc: 'Login attempts per minute on one user from all addresses together; beyond it every attempt on that user is slowed by OUTPOST_LOGIN_SLOWDOWN, never refused.' },
  { env: 'OUTPOST_LOGIN_SLOWDOWN', path: 'loginSlowdownMs', type: 'duration', default: '1s', min: 1, max: 60_000,
    doc: 'Delay added to each login attempt on a user over OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT.' },
  { env: 'OUTPOST_WEBHOOK_ALLOW_PRIVATE', path: 'webhookAllowPrivate', type: 'bool', default: 'false',
    doc: 'Allow webhook URLs to loopback, link-local and unspecified addresses (127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10, 0.0.0.0), checked again at each delivery.' },
  { env: 'OUTPOST_WEBHOOK_ALLOW_HOSTS', path: 'webhookAllowHosts', type: 'string', check: hostOrCidrList, defaultText: 'none',
    doc: 'Comma-separated host names and CIDRs (e.g. 127.0.0.1/32,alerts.lan) that webhooks may reach although they are loopback or link-local.' },
  // issue 17 (brief S): the Node.js runtime agent bundles carry unless the request names one.
  { env: 'OUTPOST_AGENT_RUNTIME', path: 'agentRuntime', type: 'string', default: 'none', check: agentRuntimeFormat,
    doc: 'Node.js runtime an agent bundle carries when `outpost agent bundle` names none: none, an architecture (arm64, armv7l, x64) or ARCH@VERSION (e.g. arm64@24, armv7l@20.11); fetched from the npm registry (node-linux-ARCH) into DATA_DIR/runtimes.' },
  { env: 'OUTPOST_FIRMWARE_MAX_BYTES', path: 'ota.firmwareMaxBytes', type: 'size', default: '2 GiB', min: 1, max: 1024 * 1024 * 1024 * 1024,
    doc: 'Largest firmware artifact an upload may carry; a larger one is refused before its first byte is stored.' },
  { env: 'OUTPOST_OTA_MAX_DOWNLOADS', path: 'ota.maxDownloads', type: 'positive-int', default: '100', max: 1_000_000,
    doc: 'Firmware downloads the device listener streams at once; more are answered 503 with Retry-After.' },
  { env: 'OUTPOST_OTA_DOWNLOAD_BYTES_PER_S', path: 'ota.downloadBytesPerS', type: 'size', default: '0', min: 0, max: 1024 * 1024 * 1024 * 1024,
    doc: 'Per-device firmware download pace in bytes per second (e.g. 1 MiB); 0 = unpaced.' },
  { env: 'OUTPOST_ROLE', path: 'role', type: 'enum', default: 'all', values: ['all', 'broker', 'control'],
    doc: 'What this node runs (the --role flag overrides it): all = the whole platform in one process; broker = MQTT, the device HTTPS listener, spool and ingest; control = the operator API, dashboard, OTA and alerts (docs/adr/0011-roles.md). broker and control need OUTPOST_DATABASE_URL, OUTPOST_REDIS_URL and OUTPOST_INFLUX_URL.' },
  { env: 'OUTPOST_LEASE_TTL', path: 'leaseTtlMs', type: 'duration', default: '15s', min: 1_000, max: 3_600_000,
    doc: 'Cluster nodes: how long a singleton-work lease (rollout tick, webhook deliveries, server certificate refresh) lasts unrenewed; the holder renews it every third of this, and another node takes over this long after the holder died.' },
  { env: 'OUTPOST_FIRMWARE_DIR', path: 'firmwareDir', type: 'path', defaultText: 'DATA_DIR/firmware',
    doc: 'Where firmware blobs are stored; in a cluster, a directory every node mounts (e.g. NFS), since any broker node serves downloads and a control node stores uploads.' },
  // Issue 15, brief P: the state database on PostgreSQL (platform/src/db/postgres.ts).
  { env: 'OUTPOST_DATABASE_URL', path: 'database.url', type: 'string', secret: true, check: databaseUrlFormat, defaultText: 'unset (embedded SQLite in the data dir)',
    doc: 'The state database on PostgreSQL: postgres://user:password@host:5432/database (or postgresql://); create the database with LC_COLLATE C. Unset = the embedded SQLite file state.db in the data dir.' },
  { env: 'OUTPOST_DATABASE_POOL_MAX', path: 'database.poolMax', type: 'positive-int', default: '10', max: 1_000,
    doc: 'PostgreSQL: most connections the pool opens.' },
  { env: 'OUTPOST_DATABASE_STATEMENT_TIMEOUT', path: 'database.statementTimeoutMs', type: 'duration', default: '30s', min: 1_000, max: 3_600_000,
    doc: 'PostgreSQL: a statement running longer is cancelled by the server.' },
  { env: 'OUTPOST_DATABASE_CONNECT_TIMEOUT', path: 'database.connectTimeoutMs', type: 'duration', default: '5s', min: 1_000, max: 300_000,
    doc: 'PostgreSQL: deadline for opening a connection or getting one from a busy pool; past it the request answers 503 STATE_DB_UNAVAILABLE.' },
  { env: 'OUTPOST_DATABASE_PROBE_INTERVAL', path: 'database.probeIntervalMs', type: 'duration', default: '5s', min: 1_000, max: 300_000,
    doc: 'PostgreSQL: how often readiness re-checks the server (/readyz shows state-db degraded while it is unreachable).' },
  // Issue 15 (broker nodes through Redis, docs/adr/0010-broker-cluster.md).
  { env: 'OUTPOST_REDIS_URL', path: 'redisUrl', type: 'string', secret: true, check: redisUrlFormat, defaultText: 'unset (one process, no Redis)',
    doc: 'Redis shared by the broker nodes of a cluster (redis://[:password@]host:port[/db] or rediss://): sessions, retained messages, the MQTT emitter, session takeover fencing, registry, live and presence events, alert partitions. Unset = one process, nothing of Redis loaded.' },
] as const satisfies readonly ConfigKeySpec[];

export type ConfigEnvName = (typeof KEYS)[number]['env'];

/** Every key, in the order `--help` lists them. */
export const CONFIG_KEYS: readonly (ConfigKeySpec & { readonly env: ConfigEnvName })[] = KEYS;

const BY_ENV: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_KEYS.map((spec) => [spec.env, spec]));

export function findConfigKey(env: string): ConfigKeySpec | undefined {
  return BY_ENV.get(env);
}

export const CONFIG_ENV_NAMES: readonly ConfigEnvName[] = CONFIG_KEYS.map((spec) => spec.env);
