import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig, type LoadConfigInput, type OutpostConfig } from '../../src/config/index.js';

const CWD = '/srv/outpost';
const LAN = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
  eth0: [
    { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
    { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.168.1.20/24' },
  ],
});

type Input = Partial<LoadConfigInput> & { files?: Record<string, string> };

function load(input: Input = {}): ReturnType<typeof loadConfig> {
  const files = input.files ?? {};
  return loadConfig({
    env: {},
    cwd: CWD,
    networkInterfaces: LAN,
    checkFile: () => undefined,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    ...input,
  });
}

function config(input: Input = {}): OutpostConfig {
  const result = load(input);
  if (!result.ok) throw new Error(`unexpected errors:\n${result.errors.join('\n')}`);
  return result.config;
}

function errors(input: Input): string[] {
  const result = load(input);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.errors;
}

describe('loadConfig', () => {
  it('gives the SPEC defaults when nothing is configured', () => {
    expect(config()).toEqual({
      agentRuntime: 'none',
      dataDir: '/srv/outpost/outpost-data',
      role: 'all',
      leaseTtlMs: 15_000,
      firmwareDir: '/srv/outpost/outpost-data/firmware',
      secretKeyFile: '/srv/outpost/outpost-secret.key',
      http: { host: '127.0.0.1', port: 8080, idleTimeoutMs: 20_000, keepAliveTimeoutMs: 5_000, requestTimeoutMs: 120_000 },
      device: { host: '0.0.0.0', port: 8443 },
      mqtt: { host: '0.0.0.0', port: 8883, handshakeTimeoutMs: 10_000, connectTimeoutMs: 10_000, maxHandshakes: 1000, maxHandshakesPerIp: 50, maxPacketBytes: 320 * 1024 },
      publicHost: '192.168.1.20',
      serverNames: ['192.168.1.20', 'localhost', '127.0.0.1'],
      deviceCertDays: 90,
      renewGraceDays: 365,
      renewFromPercent: 60,
      renewRateLimit: 6,
      renewRateWindowMs: 3_600_000,
      allowInsecureKeyMode: false,
      strictFileModes: false,
      webhookAllowPrivate: false,
      webhookAllowHosts: [],
      limits: { maxPayloadBytes: 256 * 1024, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1024 * 1024 },
      spoolMaxBytes: 1024 ** 3,
      retentionDays: 30,
      logLevel: 'info',
      logFormat: 'auto',
      shutdownTimeoutMs: 10_000,
      sessionTtlMs: 12 * 3_600_000,
      loginRateLimitPerMin: 10,
      enrollRateLimitPerMin: 3000,
      streamTokenTtlMs: 60_000,
      liveRecheckMs: 5_000,
      loginAccountRateLimitPerMin: 30,
      loginSlowdownMs: 1_000,
      otaTickMs: 1_000,
      ota: { firmwareMaxBytes: 2 * 1024 * 1024 * 1024, maxDownloads: 100, downloadBytesPerS: 0 },
    });
  });

  it('returns no warnings for the defaults', () => {
    const result = load();
    expect(result.ok && result.warnings).toEqual([]);
  });

  it('returns a deeply frozen configuration', () => {
    const result = config({ env: { OUTPOST_INFLUX_URL: 'http://influx:8086' } });
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.http)).toBe(true);
    expect(Object.isFrozen(result.limits)).toBe(true);
    expect(Object.isFrozen(result.serverNames)).toBe(true);
    expect(Object.isFrozen(result.influx)).toBe(true);
    expect(() => {
      (result.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('falls back to localhost for the public host when only loopback and IPv6 exist', () => {
    const only = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({ lo: LAN().lo, eth0: LAN().eth0?.slice(0, 1) });
    const result = load({ networkInterfaces: only });
    expect(result.ok && result.config.publicHost).toBe('localhost');
    expect(result.ok && result.config.serverNames).toEqual(['localhost', '127.0.0.1']);
    expect(result.ok && result.warnings.join('\n')).toMatch(/OUTPOST_PUBLIC_HOST defaults to localhost/);
  });

  it('skips link-local addresses and survives a failing interface lookup', () => {
    const linkLocal = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
      wlan0: [{ address: '169.254.3.4', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:02', internal: false, cidr: '169.254.3.4/16' }],
      eth1: [{ address: '10.0.0.7', netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:03', internal: false, cidr: '10.0.0.7/8' }],
    });
    expect(config({ networkInterfaces: linkLocal }).publicHost).toBe('10.0.0.7');
    const failing = (): NodeJS.Dict<NetworkInterfaceInfo[]> => {
      throw new Error('uv_interface_addresses failed');
    };
    expect(config({ networkInterfaces: failing }).publicHost).toBe('localhost');
  });

  it('derives server names from a configured public host, without duplicates', () => {
    expect(config({ env: { OUTPOST_PUBLIC_HOST: 'localhost' } }).serverNames).toEqual(['localhost', '127.0.0.1']);
    expect(config({ env: { OUTPOST_PUBLIC_HOST: 'outpost.example.com' } }).serverNames).toEqual([
      'outpost.example.com',
      'localhost',
      '127.0.0.1',
    ]);
  });

  it('parses server names as a de-duplicated comma list and warns when the public host is missing', () => {
    const result = load({ env: { OUTPOST_SERVER_NAMES: ' a.example.com, b.example.com,,A.example.com ', OUTPOST_PUBLIC_HOST: 'c.example.com' } });
    expect(result.ok && result.config.serverNames).toEqual(['a.example.com', 'b.example.com']);
    expect(result.ok && result.warnings.join('\n')).toMatch(/OUTPOST_SERVER_NAMES does not include the public host c\.example\.com/);
  });

  it('resolves relative paths against the working directory and keeps absolute ones', () => {
    const result = config({ env: { OUTPOST_DATA_DIR: 'state', OUTPOST_SECRET_KEY_FILE: '/etc/outpost/key' } });
    expect(result.dataDir).toBe('/srv/outpost/state');
    expect(result.secretKeyFile).toBe('/etc/outpost/key');
  });

  it('accepts port 0 (ephemeral) and refuses 65536', () => {
    expect(config({ env: { OUTPOST_HTTP_PORT: '0' } }).http.port).toBe(0);
    expect(errors({ env: { OUTPOST_HTTP_PORT: '65536' } })).toEqual([
      'OUTPOST_HTTP_PORT="65536" (environment): expected a port number from 0 to 65535 (0 = any free port)',
    ]);
  });

  it('reads durations and sizes with units', () => {
    const result = config({
      env: { OUTPOST_SHUTDOWN_TIMEOUT: '1s', OUTPOST_SESSION_TTL: '1h30m', OUTPOST_SPOOL_MAX_BYTES: '1 GiB', OUTPOST_LIMIT_PAYLOAD_BYTES: '64kB' },
    });
    expect(result.shutdownTimeoutMs).toBe(1000);
    expect(result.sessionTtlMs).toBe(5_400_000);
    expect(result.spoolMaxBytes).toBe(1_073_741_824);
    expect(result.limits.maxPayloadBytes).toBe(64_000);
  });

  it('treats an empty value as unset', () => {
    expect(config({ env: { OUTPOST_HTTP_PORT: '', OUTPOST_INFLUX_URL: '  ' } })).toMatchObject({ http: { port: 8080 } });
    expect(config({ env: { OUTPOST_INFLUX_URL: '' } }).influx).toBeUndefined();
  });

  it('builds the InfluxDB settings only when a URL is given', () => {
    expect(config().influx).toBeUndefined();
    expect(config({ env: { OUTPOST_INFLUX_URL: 'https://influx.example.com:8086/', OUTPOST_INFLUX_API: 'v2', OUTPOST_INFLUX_TOKEN: 't0ken', OUTPOST_INFLUX_ORG: 'acme', OUTPOST_INFLUX_BUCKET: 'telemetry' } }).influx).toEqual({
      url: 'https://influx.example.com:8086',
      api: 'v2',
      token: 't0ken',
      org: 'acme',
      bucket: 'telemetry',
      db: 'outpost',
    });
  });

  it('passes only the InfluxDB rollup settings that are set (issue 12)', () => {
    const url = { OUTPOST_INFLUX_URL: 'http://influx:8086' };
    expect(config({ env: url }).influx?.rollup).toBeUndefined();
    expect(config({ env: { ...url, OUTPOST_INFLUX_ROLLUP: 'false' } }).influx?.rollup).toEqual({ enabled: false });
    expect(config({ env: { ...url, OUTPOST_INFLUX_ROLLUP_INTERVAL: '1s', OUTPOST_INFLUX_ROLLUP_SETTLE: '0s' } }).influx?.rollup).toEqual({ intervalMs: 1_000, settleMs: 0 });
    const tooShort = load({ env: { ...url, OUTPOST_INFLUX_ROLLUP_INTERVAL: '500ms' } });
    expect(tooShort.ok).toBe(false);
  });

  it('warns that InfluxDB credentials are ignored without a URL', () => {
    const result = load({ env: { OUTPOST_INFLUX_TOKEN: 'secret-token-value' } });
    expect(result.ok && result.warnings).toEqual([
      'OUTPOST_INFLUX_TOKEN ignored: OUTPOST_INFLUX_URL is unset, so telemetry uses the embedded store',
    ]);
  });

  it('enables TLS on the operator listener when both files are given and readable', () => {
    const result = config({ env: { OUTPOST_HTTP_TLS_CERT: 'tls/cert.pem', OUTPOST_HTTP_TLS_KEY: '/etc/tls/key.pem' } });
    expect(result.http.tls).toEqual({ certFile: '/srv/outpost/tls/cert.pem', keyFile: '/etc/tls/key.pem' });
  });

  it('refuses a TLS certificate without a key, and files that cannot be read', () => {
    expect(errors({ env: { OUTPOST_HTTP_TLS_CERT: '/etc/tls/cert.pem' } })).toEqual([
      'OUTPOST_HTTP_TLS_CERT is set but OUTPOST_HTTP_TLS_KEY is not: TLS on the operator listener needs both a certificate and a key',
    ]);
    expect(errors({ env: { OUTPOST_HTTP_TLS_KEY: '/etc/tls/key.pem' } })[0]).toMatch(/^OUTPOST_HTTP_TLS_KEY is set but OUTPOST_HTTP_TLS_CERT is not/);
    const missing = errors({
      env: { OUTPOST_HTTP_TLS_CERT: '/etc/tls/cert.pem', OUTPOST_HTTP_TLS_KEY: '/etc/tls/key.pem' },
      checkFile: (path) => (path.endsWith('key.pem') ? 'does not exist' : undefined),
    });
    expect(missing).toEqual(['OUTPOST_HTTP_TLS_KEY="/etc/tls/key.pem" (environment): file does not exist; expected a readable PEM file']);
  });

  it('checks TLS files on disk by default', () => {
    const result = loadConfig({ env: { OUTPOST_HTTP_TLS_CERT: '/nonexistent/cert.pem', OUTPOST_HTTP_TLS_KEY: import.meta.filename }, cwd: CWD, networkInterfaces: LAN });
    expect(result.ok ? [] : result.errors).toEqual([
      'OUTPOST_HTTP_TLS_CERT="/nonexistent/cert.pem" (environment): file does not exist; expected a readable PEM file',
    ]);
  });

  it('refuses two listeners on the same port of overlapping addresses', () => {
    expect(errors({ env: { OUTPOST_DEVICE_PORT: '8883' } })).toEqual([
      'OUTPOST_DEVICE_PORT=8883 (environment) and OUTPOST_MQTT_PORT=8883 (default) share a port on overlapping addresses; expected a different port for each listener',
    ]);
    expect(config({ env: { OUTPOST_HTTP_PORT: '0', OUTPOST_DEVICE_PORT: '0', OUTPOST_MQTT_PORT: '0' } }).mqtt.port).toBe(0);
    expect(config({ env: { OUTPOST_DEVICE_HOST: '127.0.0.1', OUTPOST_MQTT_HOST: '127.0.0.2', OUTPOST_DEVICE_PORT: '8883' } }).device.port).toBe(8883);
  });

  it('takes the node role from --role over OUTPOST_ROLE, and refuses an unknown one with the other errors', () => {
    expect(config().role).toBe('all');
    expect(config({ role: 'all', env: { OUTPOST_ROLE: 'broker' } }).role).toBe('all');
    const found = errors({ role: 'edge', env: { OUTPOST_HTTP_PORT: 'http' } });
    expect(found).toHaveLength(2);
    expect(found.find((line) => line.startsWith('OUTPOST_ROLE="edge" (the --role flag): expected one of'))).toMatch(/all, broker or control|all, broker, control/);
    expect(errors({ env: { OUTPOST_ROLE: 'worker' } })[0]).toMatch(/^OUTPOST_ROLE="worker" \(environment\): expected/);
  });

  it('refuses a cluster role without PostgreSQL, Redis and InfluxDB with exit code 2, naming each variable', () => {
    for (const role of ['broker', 'control']) {
      const result = load({ role });
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.exitCode).toBe(2);
      expect(result.errors).toHaveLength(3);
      expect(result.errors[0]).toMatch(new RegExp(`^--role ${role} needs OUTPOST_DATABASE_URL: PostgreSQL`));
      expect(result.errors[1]).toMatch(new RegExp(`^--role ${role} needs OUTPOST_REDIS_URL: Redis`));
      expect(result.errors[2]).toMatch(new RegExp(`^--role ${role} needs OUTPOST_INFLUX_URL: InfluxDB`));
    }
    const withInflux = load({ env: { OUTPOST_ROLE: 'control', OUTPOST_INFLUX_URL: 'http://influx:8086' } });
    expect(withInflux.ok ? [] : withInflux.errors.map((line) => line.split(':')[0])).toEqual(['--role control needs OUTPOST_DATABASE_URL', '--role control needs OUTPOST_REDIS_URL']);
    // Other problems come first, with the usual exit code.
    const other = load({ role: 'broker', env: { OUTPOST_HTTP_PORT: 'http' } });
    expect(other.ok || other.exitCode).toBeUndefined();
  });

  it('puts firmware blobs under the data dir unless OUTPOST_FIRMWARE_DIR names a shared directory', () => {
    expect(config({ env: { OUTPOST_FIRMWARE_DIR: 'shared/firmware' } }).firmwareDir).toBe('/srv/outpost/shared/firmware');
    expect(config({ env: { OUTPOST_LEASE_TTL: '1s' } }).leaseTtlMs).toBe(1_000);
    expect(errors({ env: { OUTPOST_LEASE_TTL: '500ms' } })[0]).toMatch(/^OUTPOST_LEASE_TTL="500ms"/);
  });

  it('lists every problem at once, one line each, naming key, value and expectation', () => {
    const found = errors({
      env: {
        OUTPOST_HTTP_HOST: 'not a host',
        OUTPOST_HTTP_PORT: '-1',
        OUTPOST_DEVICE_CERT_DAYS: '0',
        OUTPOST_LIMIT_SAMPLES: '1.5',
        OUTPOST_SHUTDOWN_TIMEOUT: 'soon',
        OUTPOST_SPOOL_MAX_BYTES: 'big',
        OUTPOST_LOG_LEVEL: 'loud',
        OUTPOST_INFLUX_URL: 'influx:8086',
      },
    });
    expect(found).toHaveLength(8);
    for (const line of found) {
      expect(line).not.toContain('\n');
      expect(line).toMatch(/^OUTPOST_[A-Z_]+="[^"]*" \(environment\): expected /);
    }
  });

  it('never prints secret values in errors', () => {
    const secrets = {
      OUTPOST_SECRET_KEY: 'my-secret-key-material',
      OUTPOST_ADMIN_PASSWORD: 'pw-short',
      OUTPOST_INFLUX_URL: 'http://reader:influx-pass@influx:8086',
      OUTPOST_INFLUX_PASSWORD: 'influx-secret',
    };
    const found = errors({ env: secrets });
    const text = found.join('\n');
    expect(text).toContain('OUTPOST_SECRET_KEY (value hidden; environment): expected 32 bytes');
    expect(text).toContain('OUTPOST_ADMIN_PASSWORD (value hidden; environment): expected at least 12 characters');
    expect(text).toContain('OUTPOST_INFLUX_PASSWORD is set but OUTPOST_INFLUX_USERNAME is not');
    for (const value of ['my-secret-key-material', 'pw-short', 'influx-pass', 'influx-secret']) expect(text).not.toContain(value);
  });

  it('does not print values of unknown or mistyped file keys', () => {
    const found = errors({ files: { '/srv/outpost/o.env': 'OUTPOST_ADMIN_PASWORD=correct horse battery' }, configFile: 'o.env' });
    expect(found).toEqual(['unknown setting OUTPOST_ADMIN_PASWORD (did you mean OUTPOST_ADMIN_PASSWORD?) in config file /srv/outpost/o.env']);
  });

  it('accepts a valid secret key and admin password', () => {
    const key = 'ab'.repeat(32);
    const result = config({ env: { OUTPOST_SECRET_KEY: key, OUTPOST_ADMIN_PASSWORD: 'twelve chars' } });
    expect(result.secretKey).toBe(key);
    expect(result.adminPassword).toBe('twelve chars');
    expect(config({ env: { OUTPOST_SECRET_KEY: Buffer.alloc(32, 9).toString('base64') } }).secretKey).toHaveLength(44);
  });

  it('warns about unknown OUTPOST_* variables in the environment, with a suggestion', () => {
    const result = load({ env: { OUTPOST_HTTP_PROT: '9000', PATH: '/usr/bin', OUTPOST_SOMETHING_ELSE_ENTIRELY: 'x' } });
    expect(result.ok && result.warnings).toEqual([
      'unknown setting OUTPOST_HTTP_PROT (did you mean OUTPOST_HTTP_PORT?) in the environment; ignored',
      'unknown setting OUTPOST_SOMETHING_ELSE_ENTIRELY in the environment; ignored',
    ]);
  });

  it('warns when the operator listener leaves loopback without TLS', () => {
    const result = load({ env: { OUTPOST_HTTP_HOST: '0.0.0.0', OUTPOST_HTTP_PORT: '9000' } });
    expect(result.ok && result.warnings.join('\n')).toMatch(/OUTPOST_HTTP_HOST="0\.0\.0\.0" without OUTPOST_HTTP_TLS_CERT\/KEY/);
  });

  it('warns when the key file lies inside the data dir, or is shadowed by OUTPOST_SECRET_KEY', () => {
    const inside = load({ env: { OUTPOST_SECRET_KEY_FILE: 'outpost-data/secret.key' } });
    expect(inside.ok && inside.warnings.join('\n')).toMatch(/is inside OUTPOST_DATA_DIR/);
    const shadowed = load({ env: { OUTPOST_SECRET_KEY: 'cd'.repeat(32), OUTPOST_SECRET_KEY_FILE: '/etc/outpost/key' } });
    expect(shadowed.ok && shadowed.warnings).toEqual(['OUTPOST_SECRET_KEY_FILE ignored: OUTPOST_SECRET_KEY is set']);
  });

  it('places every schema key at its documented path in the configuration', () => {
    const env: Record<string, string> = {
      OUTPOST_DATA_DIR: '/d', OUTPOST_SECRET_KEY: 'ef'.repeat(32), OUTPOST_SECRET_KEY_FILE: '/sk', OUTPOST_HTTP_HOST: '127.0.0.5', OUTPOST_HTTP_PORT: '1',
      OUTPOST_HTTP_TLS_CERT: '/c', OUTPOST_HTTP_TLS_KEY: '/k', OUTPOST_DEVICE_HOST: '10.0.0.1', OUTPOST_DEVICE_PORT: '2',
      OUTPOST_MQTT_HOST: '10.0.0.2', OUTPOST_MQTT_PORT: '3', OUTPOST_PUBLIC_HOST: 'p.example', OUTPOST_SERVER_NAMES: 'p.example',
      OUTPOST_ADMIN_PASSWORD: 'a-long-password', OUTPOST_DEVICE_CERT_DAYS: '4', OUTPOST_RENEW_GRACE_DAYS: '5',
      OUTPOST_LIMIT_PAYLOAD_BYTES: '6', OUTPOST_LIMIT_SAMPLES: '7', OUTPOST_LIMIT_METRICS: '8', OUTPOST_LIMIT_MSGS_PER_S: '9',
      OUTPOST_LIMIT_BYTES_PER_S: '10', OUTPOST_INFLUX_URL: 'http://i', OUTPOST_INFLUX_API: 'v1', OUTPOST_INFLUX_TOKEN: 't',
      OUTPOST_INFLUX_ORG: 'o', OUTPOST_INFLUX_BUCKET: 'b', OUTPOST_INFLUX_DB: 'd', OUTPOST_INFLUX_RP: 'r', OUTPOST_INFLUX_USERNAME: 'u',
      OUTPOST_INFLUX_PASSWORD: 'p', OUTPOST_SPOOL_MAX_BYTES: '11', OUTPOST_RETENTION_DAYS: '12', OUTPOST_LOG_LEVEL: 'debug', OUTPOST_LOG_FORMAT: 'json',
      OUTPOST_SHUTDOWN_TIMEOUT: '13s', OUTPOST_SESSION_TTL: '14s', OUTPOST_LOGIN_RATE_LIMIT: '15', OUTPOST_STREAM_TOKEN_TTL: '16s', OUTPOST_ENROLL_RATE_LIMIT: '17',
      OUTPOST_MQTT_HANDSHAKE_TIMEOUT: '21s', OUTPOST_MQTT_CONNECT_TIMEOUT: '22s', OUTPOST_MQTT_MAX_HANDSHAKES: '23', OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP: '24',
      OUTPOST_MQTT_MAX_PACKET_BYTES: '25', OUTPOST_HTTP_IDLE_TIMEOUT: '26s', OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT: '27s', OUTPOST_HTTP_REQUEST_TIMEOUT: '28s',
      OUTPOST_METRICS_TOKEN: 'a-metrics-token-29', OUTPOST_LIVE_RECHECK_INTERVAL: '30s', OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT: '31', OUTPOST_LOGIN_SLOWDOWN: '32s', OUTPOST_OTA_TICK: '33s',
      OUTPOST_RENEW_FROM_PERCENT: '18', OUTPOST_RENEW_RATE_LIMIT: '19', OUTPOST_RENEW_RATE_WINDOW: '20s', OUTPOST_ALLOW_INSECURE_KEY_MODE: 'true',
      OUTPOST_STRICT_FILE_MODES: 'true', OUTPOST_WEBHOOK_ALLOW_PRIVATE: 'true', OUTPOST_WEBHOOK_ALLOW_HOSTS: '10.0.0.0/8, hooks.lan',
      OUTPOST_FIRMWARE_MAX_BYTES: '34', OUTPOST_OTA_MAX_DOWNLOADS: '35', OUTPOST_OTA_DOWNLOAD_BYTES_PER_S: '36',
      OUTPOST_INFLUX_ROLLUP: 'true', OUTPOST_INFLUX_ROLLUP_INTERVAL: '37s', OUTPOST_INFLUX_ROLLUP_SETTLE: '38s',
      OUTPOST_REDIS_URL: 'redis://cache:6379',
      OUTPOST_ROLE: 'all', OUTPOST_LEASE_TTL: '39s', OUTPOST_FIRMWARE_DIR: '/fw',
      OUTPOST_DATABASE_URL: 'postgres://db/outpost', OUTPOST_DATABASE_POOL_MAX: '40', OUTPOST_DATABASE_STATEMENT_TIMEOUT: '41s', OUTPOST_DATABASE_CONNECT_TIMEOUT: '42s', OUTPOST_DATABASE_PROBE_INTERVAL: '43s',
      OUTPOST_AGENT_RUNTIME: 'arm64@24',
    };
    const result = config({ env });
    const expected: Record<string, unknown> = { ...env, OUTPOST_SERVER_NAMES: ['p.example'], OUTPOST_SHUTDOWN_TIMEOUT: 13_000, OUTPOST_SESSION_TTL: 14_000, OUTPOST_STREAM_TOKEN_TTL: 16_000,
      OUTPOST_MQTT_HANDSHAKE_TIMEOUT: 21_000, OUTPOST_MQTT_CONNECT_TIMEOUT: 22_000, OUTPOST_HTTP_IDLE_TIMEOUT: 26_000, OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT: 27_000,
      OUTPOST_HTTP_REQUEST_TIMEOUT: 28_000, OUTPOST_LIVE_RECHECK_INTERVAL: 30_000, OUTPOST_LOGIN_SLOWDOWN: 32_000, OUTPOST_OTA_TICK: 33_000,
      OUTPOST_RENEW_RATE_WINDOW: 20_000, OUTPOST_ALLOW_INSECURE_KEY_MODE: true, OUTPOST_STRICT_FILE_MODES: true, OUTPOST_WEBHOOK_ALLOW_PRIVATE: true,
      OUTPOST_WEBHOOK_ALLOW_HOSTS: ['10.0.0.0/8', 'hooks.lan'],
      OUTPOST_INFLUX_ROLLUP: true, OUTPOST_INFLUX_ROLLUP_INTERVAL: 37_000, OUTPOST_INFLUX_ROLLUP_SETTLE: 38_000, OUTPOST_LEASE_TTL: 39_000,
      OUTPOST_DATABASE_STATEMENT_TIMEOUT: 41_000, OUTPOST_DATABASE_CONNECT_TIMEOUT: 42_000, OUTPOST_DATABASE_PROBE_INTERVAL: 43_000 };
    for (const spec of CONFIG_KEYS) {
      if (spec.refused !== undefined) continue;
      const actual = spec.path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], result);
      const want = expected[spec.env];
      expect(spec.env in expected, `${spec.env} covered by this test`).toBe(true);
      expect(actual, spec.env).toEqual(typeof actual === 'number' && typeof want === 'string' ? Number(want) : want);
    }
  });
});
