import type { NetworkInterfaceInfo } from 'node:os';
import type { ConfigEnvName } from './config-schema.js';
import type { ConfigValue } from './parse-value.js';
import { join } from 'node:path';
import type { DatabaseConfig, InfluxApi, InfluxConfig, InfluxRollupConfig, LogFormat, LogLevel, NodeRole, OutpostConfig } from '@outpost/kernel';

/** Parsed values by key; keys with a default are always present. */
export type ConfigValues = ReadonlyMap<ConfigEnvName, ConfigValue>;

export type NetworkInterfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly LogFormat[] = ['auto', 'pretty', 'json'];
const INFLUX_APIS: readonly InfluxApi[] = ['auto', 'v1', 'v2'];
const NODE_ROLES: readonly NodeRole[] = ['all', 'broker', 'control'];

/**
 * The first IPv4 address that other machines can use (not loopback, not
 * link-local), in the order the system lists its interfaces; else `localhost`.
 */
export function defaultPublicHost(networkInterfaces: NetworkInterfaces): string {
  let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  try {
    interfaces = networkInterfaces();
  } catch {
    return 'localhost';
  }
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const usable = info.family === 'IPv4' && !info.internal && !info.address.startsWith('127.') && !info.address.startsWith('169.254.');
      if (usable) return info.address;
    }
  }
  return 'localhost';
}

/** Default SANs: the public host, `localhost`, `127.0.0.1`, without duplicates. */
export function defaultServerNames(publicHost: string): string[] {
  return [...new Set([publicHost, 'localhost', '127.0.0.1'])];
}

/** Assembles `OutpostConfig` from values that passed validation (not yet frozen). */
export function buildConfig(values: ConfigValues): OutpostConfig {
  const get = reader(values);
  const secretKey = get.optionalString('OUTPOST_SECRET_KEY');
  const adminPassword = get.optionalString('OUTPOST_ADMIN_PASSWORD');
  const certFile = get.optionalString('OUTPOST_HTTP_TLS_CERT');
  const keyFile = get.optionalString('OUTPOST_HTTP_TLS_KEY');
  const influx = buildInflux(get);
  const logLevel = get.string('OUTPOST_LOG_LEVEL');
  const logFormat = get.string('OUTPOST_LOG_FORMAT');
  const metricsToken = get.optionalString('OUTPOST_METRICS_TOKEN');
  const dataDir = get.string('OUTPOST_DATA_DIR');
  const role = get.string('OUTPOST_ROLE');
  return {
    dataDir,
    role: NODE_ROLES.find((known) => known === role) ?? 'all',
    leaseTtlMs: get.number('OUTPOST_LEASE_TTL'),
    firmwareDir: get.optionalString('OUTPOST_FIRMWARE_DIR') ?? join(dataDir, 'firmware'),
    ...(secretKey === undefined ? {} : { secretKey }),
    secretKeyFile: get.string('OUTPOST_SECRET_KEY_FILE'),
    http: {
      host: get.string('OUTPOST_HTTP_HOST'),
      port: get.number('OUTPOST_HTTP_PORT'),
      idleTimeoutMs: get.number('OUTPOST_HTTP_IDLE_TIMEOUT'),
      keepAliveTimeoutMs: get.number('OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT'),
      requestTimeoutMs: get.number('OUTPOST_HTTP_REQUEST_TIMEOUT'),
      ...(certFile === undefined || keyFile === undefined ? {} : { tls: { certFile, keyFile } }),
    },
    device: { host: get.string('OUTPOST_DEVICE_HOST'), port: get.number('OUTPOST_DEVICE_PORT') },
    mqtt: {
      host: get.string('OUTPOST_MQTT_HOST'),
      port: get.number('OUTPOST_MQTT_PORT'),
      handshakeTimeoutMs: get.number('OUTPOST_MQTT_HANDSHAKE_TIMEOUT'),
      connectTimeoutMs: get.number('OUTPOST_MQTT_CONNECT_TIMEOUT'),
      maxHandshakes: get.number('OUTPOST_MQTT_MAX_HANDSHAKES'),
      maxHandshakesPerIp: get.number('OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP'),
      // Unset: room for the largest payload plus the longest topic and the variable header.
      maxPacketBytes: get.optionalNumber('OUTPOST_MQTT_MAX_PACKET_BYTES') ?? get.number('OUTPOST_LIMIT_PAYLOAD_BYTES') + 65_536,
    },
    publicHost: get.string('OUTPOST_PUBLIC_HOST'),
    serverNames: get.list('OUTPOST_SERVER_NAMES'),
    ...(adminPassword === undefined ? {} : { adminPassword }),
    deviceCertDays: get.number('OUTPOST_DEVICE_CERT_DAYS'),
    renewGraceDays: get.number('OUTPOST_RENEW_GRACE_DAYS'),
    renewFromPercent: get.number('OUTPOST_RENEW_FROM_PERCENT'),
    renewRateLimit: get.number('OUTPOST_RENEW_RATE_LIMIT'),
    renewRateWindowMs: get.number('OUTPOST_RENEW_RATE_WINDOW'),
    allowInsecureKeyMode: get.bool('OUTPOST_ALLOW_INSECURE_KEY_MODE'),
    strictFileModes: get.bool('OUTPOST_STRICT_FILE_MODES'),
    webhookAllowPrivate: get.bool('OUTPOST_WEBHOOK_ALLOW_PRIVATE'),
    webhookAllowHosts: (get.optionalString('OUTPOST_WEBHOOK_ALLOW_HOSTS') ?? '').split(',').map((item) => item.trim()).filter((item) => item !== ''),
    limits: {
      maxPayloadBytes: get.number('OUTPOST_LIMIT_PAYLOAD_BYTES'),
      maxSamples: get.number('OUTPOST_LIMIT_SAMPLES'),
      maxMetrics: get.number('OUTPOST_LIMIT_METRICS'),
      msgsPerS: get.number('OUTPOST_LIMIT_MSGS_PER_S'),
      bytesPerS: get.number('OUTPOST_LIMIT_BYTES_PER_S'),
    },
    ...(influx === undefined ? {} : { influx }),
    ...redisOf(get.optionalString('OUTPOST_REDIS_URL')), // issue 15 (ADR 0010)
    ...databaseOf(get), // issue 15, brief P: PostgreSQL for state
    spoolMaxBytes: get.number('OUTPOST_SPOOL_MAX_BYTES'),
    retentionDays: get.number('OUTPOST_RETENTION_DAYS'),
    logLevel: LOG_LEVELS.find((level) => level === logLevel) ?? 'info',
    logFormat: LOG_FORMATS.find((format) => format === logFormat) ?? 'auto',
    shutdownTimeoutMs: get.number('OUTPOST_SHUTDOWN_TIMEOUT'),
    sessionTtlMs: get.number('OUTPOST_SESSION_TTL'),
    loginRateLimitPerMin: get.number('OUTPOST_LOGIN_RATE_LIMIT'),
    enrollRateLimitPerMin: get.number('OUTPOST_ENROLL_RATE_LIMIT'),
    streamTokenTtlMs: get.number('OUTPOST_STREAM_TOKEN_TTL'),
    liveRecheckMs: get.number('OUTPOST_LIVE_RECHECK_INTERVAL'),
    loginAccountRateLimitPerMin: get.number('OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT'),
    loginSlowdownMs: get.number('OUTPOST_LOGIN_SLOWDOWN'),
    otaTickMs: get.number('OUTPOST_OTA_TICK'),
    agentRuntime: get.string('OUTPOST_AGENT_RUNTIME'),
    ...(metricsToken === undefined ? {} : { metricsToken }),
    ota: {
      firmwareMaxBytes: get.number('OUTPOST_FIRMWARE_MAX_BYTES'),
      maxDownloads: get.number('OUTPOST_OTA_MAX_DOWNLOADS'),
      downloadBytesPerS: get.number('OUTPOST_OTA_DOWNLOAD_BYTES_PER_S'),
    },
  };
}

/** OUTPOST_DATABASE_* (issue 15): the state database on PostgreSQL, present only when the URL is set. */
function databaseOf(get: Reader): { database?: DatabaseConfig } {
  const url = get.optionalString('OUTPOST_DATABASE_URL');
  if (url === undefined) return {};
  return {
    database: {
      url,
      poolMax: get.number('OUTPOST_DATABASE_POOL_MAX'),
      statementTimeoutMs: get.number('OUTPOST_DATABASE_STATEMENT_TIMEOUT'),
      connectTimeoutMs: get.number('OUTPOST_DATABASE_CONNECT_TIMEOUT'),
      probeIntervalMs: get.number('OUTPOST_DATABASE_PROBE_INTERVAL'),
    },
  };
}

/** OUTPOST_REDIS_URL (issue 15): present only when set. */
function redisOf(redisUrl: string | undefined): { redisUrl?: string } {
  return redisUrl === undefined ? {} : { redisUrl };
}

function buildInflux(get: Reader): InfluxConfig | undefined {
  const url = get.optionalString('OUTPOST_INFLUX_URL');
  if (url === undefined) return undefined;
  const api = get.string('OUTPOST_INFLUX_API');
  const optional = {
    token: get.optionalString('OUTPOST_INFLUX_TOKEN'),
    org: get.optionalString('OUTPOST_INFLUX_ORG'),
    bucket: get.optionalString('OUTPOST_INFLUX_BUCKET'),
    rp: get.optionalString('OUTPOST_INFLUX_RP'),
    username: get.optionalString('OUTPOST_INFLUX_USERNAME'),
    password: get.optionalString('OUTPOST_INFLUX_PASSWORD'),
  };
  const present = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined));
  const rollup = buildInfluxRollup(get);
  return {
    url,
    api: INFLUX_APIS.find((known) => known === api) ?? 'auto',
    db: get.string('OUTPOST_INFLUX_DB'),
    ...present,
    ...(rollup === undefined ? {} : { rollup }),
  };
}

/** Only the rollup keys that are set; absent when none is (the store's defaults). */
function buildInfluxRollup(get: Reader): InfluxRollupConfig | undefined {
  const set = {
    enabled: get.optionalBool('OUTPOST_INFLUX_ROLLUP'),
    intervalMs: get.optionalNumber('OUTPOST_INFLUX_ROLLUP_INTERVAL'),
    settleMs: get.optionalNumber('OUTPOST_INFLUX_ROLLUP_SETTLE'),
  };
  const present = Object.fromEntries(Object.entries(set).filter(([, value]) => value !== undefined)) as InfluxRollupConfig;
  return Object.keys(present).length === 0 ? undefined : present;
}

interface Reader {
  string(key: ConfigEnvName): string;
  optionalString(key: ConfigEnvName): string | undefined;
  number(key: ConfigEnvName): number;
  optionalNumber(key: ConfigEnvName): number | undefined;
  bool(key: ConfigEnvName): boolean;
  optionalBool(key: ConfigEnvName): boolean | undefined;
  list(key: ConfigEnvName): readonly string[];
}

function reader(values: ConfigValues): Reader {
  const missing = (key: ConfigEnvName, kind: string): Error =>
    new Error(`internal: ${key} has no ${kind} value after validation (config-schema and build-config disagree)`);
  return {
    string(key) {
      const value = values.get(key);
      if (typeof value !== 'string') throw missing(key, 'string');
      return value;
    },
    optionalString(key) {
      const value = values.get(key);
      return typeof value === 'string' ? value : undefined;
    },
    number(key) {
      const value = values.get(key);
      if (typeof value !== 'number') throw missing(key, 'number');
      return value;
    },
    bool(key) {
      const value = values.get(key);
      if (typeof value !== 'boolean') throw missing(key, 'boolean');
      return value;
    },
    optionalNumber(key) {
      const value = values.get(key);
      return typeof value === 'number' ? value : undefined;
    },
    optionalBool(key) {
      const value = values.get(key);
      return typeof value === 'boolean' ? value : undefined;
    },
    list(key) {
      const value = values.get(key);
      if (!Array.isArray(value)) throw missing(key, 'list');
      return [...value];
    },
  };
}
