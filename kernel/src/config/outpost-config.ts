/**
 * The validated, frozen configuration of `outpost server`. Built once by
 * `loadConfig` and passed down; nothing else reads the environment.
 * Every key is documented in `config-schema.ts`.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** How the platform logs: see OUTPOST_LOG_FORMAT in config-schema.ts. */
export type LogFormat = 'auto' | 'pretty' | 'json';

export type InfluxApi = 'auto' | 'v1' | 'v2';

/** What a node runs (ADR 0011): `all` = the whole platform in one process; `broker` and `control` = cluster nodes. */
export type NodeRole = 'all' | 'broker' | 'control';

export interface ListenerConfig {
  readonly host: string;
  /** 0 = ephemeral; the bound port is logged. */
  readonly port: number;
}

export interface HttpListenerConfig extends ListenerConfig {
  /** Operator and device listeners: socket idle timeout, kept-alive idle timeout, whole-request receive timeout (D1). */
  readonly idleTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Absolute paths of the operator listener's PEM certificate and key; absent = plain HTTP. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export interface MqttListenerConfig extends ListenerConfig {
  /** A TLS handshake not done this long after accept closes the socket (issue 11, D1). */
  readonly handshakeTimeoutMs: number;
  /** No CONNECT this long after the handshake closes the connection. */
  readonly connectTimeoutMs: number;
  /** Sockets in their TLS handshake at once, in all and from one address; more are closed on accept. */
  readonly maxHandshakes: number;
  readonly maxHandshakesPerIp: number;
  /** Largest packet (bytes after the fixed header); a larger one drops the connection unread (D3). */
  readonly maxPacketBytes: number;
}

export interface LimitsConfig {
  readonly maxPayloadBytes: number;
  readonly maxSamples: number;
  readonly maxMetrics: number;
  readonly msgsPerS: number;
  readonly bytesPerS: number;
}

/** The state database on PostgreSQL (OUTPOST_DATABASE_*, issue 15). */
export interface DatabaseConfig {
  /** `postgres://user:password@host:port/database`; never logged with its password. */
  readonly url: string;
  readonly poolMax: number;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** How often readiness re-checks the server with `select 1`. */
  readonly probeIntervalMs: number;
}

export interface InfluxConfig {
  readonly url: string;
  readonly api: InfluxApi;
  readonly token?: string;
  readonly org?: string;
  readonly bucket?: string;
  readonly db: string;
  readonly rp?: string;
  readonly username?: string;
  readonly password?: string;
  /** 1.x: the rollup for long-range charts (ADR 0008, issue 12); absent = on with the store's defaults. */
  readonly rollup?: InfluxRollupConfig;
}

/** The InfluxDB rollup (ADR 0008); each absent field keeps the store's default. */
export interface InfluxRollupConfig {
  /** false = off: charts scan raw points (default on). */
  readonly enabled?: boolean;
  /** How often the periodic pass runs (default 1 min). */
  readonly intervalMs?: number;
  /** How long after a minute ends the pass rolls it up (default 2 min). */
  readonly settleMs?: number;
}

/** Bounds of the OTA part (issue 13): uploads and device downloads. */
export interface OtaConfig {
  /** Largest firmware artifact an upload may carry (bytes). */
  readonly firmwareMaxBytes: number;
  /** Device downloads streaming at once; more answer 503 with Retry-After. */
  readonly maxDownloads: number;
  /** Per-device download pace in bytes/s; 0 = unpaced. */
  readonly downloadBytesPerS: number;
}

export interface OutpostConfig {
  /** Absolute path: state database, CA, spool, blobs. */
  readonly dataDir: string;
  /** `--role` / OUTPOST_ROLE (ADR 0011): which listeners and background work this node runs. */
  readonly role: NodeRole;
  /** How long a singleton-work lease lasts without renewal (renewed every third of it; ADR 0011). */
  readonly leaseTtlMs: number;
  /** Absolute path of the firmware blobs (default DATA_DIR/firmware): a shared directory in a cluster. */
  readonly firmwareDir: string;
  /** The key as given (64 hex or 44 base64 chars); decode with `resolveSecretKey`. */
  readonly secretKey?: string;
  /** Absolute path of the key file, used (and generated) when `secretKey` is unset. */
  readonly secretKeyFile: string;
  readonly http: HttpListenerConfig;
  readonly device: ListenerConfig;
  readonly mqtt: MqttListenerConfig;
  readonly publicHost: string;
  readonly serverNames: readonly string[];
  readonly adminPassword?: string;
  readonly deviceCertDays: number;
  readonly renewGraceDays: number;
  /** Percent of a certificate's lifetime from which it may be renewed with a new key (D5). */
  readonly renewFromPercent: number;
  /** Renewals per device per `renewRateWindowMs` (issue 11, D5). */
  readonly renewRateLimit: number;
  readonly renewRateWindowMs: number;
  /** Start although the secret key file is group/other readable (D7). */
  readonly allowInsecureKeyMode: boolean;
  /** Refuse to start on loose data-dir modes instead of fixing them (D7). */
  readonly strictFileModes: boolean;
  /** Webhooks may target loopback/link-local/unspecified addresses (D8). */
  readonly webhookAllowPrivate: boolean;
  /** Host names and CIDRs webhooks may reach although loopback/link-local (D8). */
  readonly webhookAllowHosts: readonly string[];
  readonly limits: LimitsConfig;
  /** Absent = the embedded telemetry store. */
  readonly influx?: InfluxConfig;
  /** OUTPOST_DATABASE_URL (issue 15): the state database on PostgreSQL; absent = embedded SQLite in the data dir. */
  readonly database?: DatabaseConfig;
  /** OUTPOST_REDIS_URL (issue 15): Redis shared by the broker nodes; unset = one process, no Redis. */
  readonly redisUrl?: string;
  readonly spoolMaxBytes: number;
  readonly retentionDays: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly shutdownTimeoutMs: number;
  readonly sessionTtlMs: number;
  readonly loginRateLimitPerMin: number;
  readonly enrollRateLimitPerMin: number;
  readonly streamTokenTtlMs: number;
  /** How often an open live stream re-checks its principal (D4). */
  readonly liveRecheckMs: number;
  /** Attempts per minute on one user from all addresses before each is slowed by `loginSlowdownMs` (D6). */
  readonly loginAccountRateLimitPerMin: number;
  readonly loginSlowdownMs: number;
  /** When set, GET /metrics needs this bearer token (D8). */
  readonly metricsToken?: string;
  /** How often the OTA rollouts advance: waves, gates, device timeouts, scheduled starts (issue 13). */
  readonly otaTickMs: number;
  /** The OTA part's bounds (loadConfig always sets them; absent in hand-made configs = the part's defaults). */
  readonly ota?: OtaConfig;
  /** `OUTPOST_AGENT_RUNTIME` (issue 17): the Node.js runtime of a bundle whose request names none (absent = none). */
  readonly agentRuntime?: string;
}
