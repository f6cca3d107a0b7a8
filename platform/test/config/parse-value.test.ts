import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, type ConfigEnvName } from '../../src/config/index.js';
import { formatDuration, formatSize, isHost, parseConfigValue, type RawConfigValue } from '../../src/config/parse-value.js';

function spec(env: ConfigEnvName) {
  const found = CONFIG_KEYS.find((key) => key.env === env);
  if (found === undefined) throw new Error(`no key ${env}`);
  return found;
}

const parse = (env: ConfigEnvName, raw: RawConfigValue) => parseConfigValue(spec(env), raw, '/cwd');

describe('parseConfigValue', () => {
  it.each<[string, ConfigEnvName, RawConfigValue, unknown]>([
    ['string', 'OUTPOST_INFLUX_ORG', ' acme ', 'acme'],
    ['host (IPv4)', 'OUTPOST_HTTP_HOST', '10.1.2.3', '10.1.2.3'],
    ['host (IPv6)', 'OUTPOST_HTTP_HOST', '::', '::'],
    ['host (name)', 'OUTPOST_PUBLIC_HOST', 'outpost-1.example.com', 'outpost-1.example.com'],
    ['port', 'OUTPOST_HTTP_PORT', '65535', 65_535],
    ['port (JSON number)', 'OUTPOST_HTTP_PORT', 0, 0],
    ['int at its lower bound', 'OUTPOST_RENEW_GRACE_DAYS', '0', 0],
    ['int at its upper bound', 'OUTPOST_DEVICE_CERT_DAYS', '3650', 3650],
    ['positive-int', 'OUTPOST_LIMIT_SAMPLES', '1', 1],
    ['duration', 'OUTPOST_STREAM_TOKEN_TTL', '1s', 1000],
    ['duration, compound', 'OUTPOST_SESSION_TTL', '1d12h', 129_600_000],
    ['size in bytes', 'OUTPOST_LIMIT_BYTES_PER_S', '2048', 2048],
    ['size with unit', 'OUTPOST_SPOOL_MAX_BYTES', '1 GiB', 1_073_741_824],
    ['size as JSON number', 'OUTPOST_SPOOL_MAX_BYTES', 4096, 4096],
    ['enum, any case', 'OUTPOST_LOG_LEVEL', 'WARN', 'warn'],
    ['list', 'OUTPOST_SERVER_NAMES', 'a.lan, 10.0.0.1', ['a.lan', '10.0.0.1']],
    ['list as JSON array', 'OUTPOST_SERVER_NAMES', ['a.lan', 'a.lan'], ['a.lan']],
    ['path, relative', 'OUTPOST_DATA_DIR', 'data', '/cwd/data'],
    ['url', 'OUTPOST_INFLUX_URL', 'https://influx:8086/', 'https://influx:8086'],
    ['secret key, hex', 'OUTPOST_SECRET_KEY', '0f'.repeat(32), '0f'.repeat(32)],
  ])('accepts a valid %s', (_type, env, raw, value) => {
    expect(parse(env, raw)).toEqual({ ok: true, value });
  });

  it.each<[string, ConfigEnvName, RawConfigValue, string]>([
    ['string too short', 'OUTPOST_ADMIN_PASSWORD', 'short', 'at least 12 characters'],
    ['secret key of the wrong length', 'OUTPOST_SECRET_KEY', 'ab'.repeat(31), '32 bytes as 64 hex characters or 44 base64 characters (e.g. from `openssl rand -hex 32`)'],
    ['host with a space', 'OUTPOST_HTTP_HOST', 'my host', 'a host name or IP address (e.g. 0.0.0.0, 192.168.1.10, outpost.example.com)'],
    ['host with a scheme', 'OUTPOST_PUBLIC_HOST', 'https://outpost.lan', 'a host name or IP address (e.g. 0.0.0.0, 192.168.1.10, outpost.example.com)'],
    ['port above 65535', 'OUTPOST_MQTT_PORT', '65536', 'a port number from 0 to 65535 (0 = any free port)'],
    ['port with junk', 'OUTPOST_MQTT_PORT', '88x', 'a port number from 0 to 65535 (0 = any free port)'],
    ['int below its range', 'OUTPOST_DEVICE_CERT_DAYS', '0', 'a whole number from 1 to 3650'],
    ['int above its range', 'OUTPOST_RENEW_GRACE_DAYS', '3651', 'a whole number from 0 to 3650'],
    ['int with a fraction', 'OUTPOST_RENEW_GRACE_DAYS', '1.5', 'a whole number from 0 to 3650'],
    ['positive-int of zero', 'OUTPOST_LIMIT_METRICS', '0', 'a whole number of at least 1'],
    ['duration without unit', 'OUTPOST_SESSION_TTL', '3600', 'a duration from 1s to 365d, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d); a bare number has no unit'],
    ['duration as JSON number', 'OUTPOST_SESSION_TTL', 3600, 'a duration from 1s to 365d, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d); a bare number has no unit'],
    ['duration in words', 'OUTPOST_SHUTDOWN_TIMEOUT', 'ten seconds', 'a duration from 1ms to 1h, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d)'],
    ['duration too long', 'OUTPOST_SHUTDOWN_TIMEOUT', '2h', 'a duration from 1ms to 1h, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d)'],
    ['duration too short', 'OUTPOST_STREAM_TOKEN_TTL', '500ms', 'a duration from 1s to 1d, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d)'],
    ['size in words', 'OUTPOST_SPOOL_MAX_BYTES', 'a lot', 'a size of at least 1 B (bytes, or e.g. 512 KiB, 1 MiB, 1 GiB)'],
    ['size of zero', 'OUTPOST_LIMIT_PAYLOAD_BYTES', '0', 'a size of at least 1 B (bytes, or e.g. 512 KiB, 1 MiB, 1 GiB)'],
    ['enum outside its values', 'OUTPOST_INFLUX_API', 'v3', 'one of auto, v1, v2'],
    ['list with a bad name', 'OUTPOST_SERVER_NAMES', 'ok.lan, not ok', 'a comma-separated list of host names or IP addresses; "not ok" is not one'],
    ['empty list', 'OUTPOST_SERVER_NAMES', ' , ', 'a comma-separated list of host names or IP addresses'],
    ['url without http', 'OUTPOST_INFLUX_URL', 'influx.lan:8086', 'an http:// or https:// URL (e.g. http://localhost:8086)'],
    ['url of another scheme', 'OUTPOST_INFLUX_URL', 'ftp://influx', 'an http:// or https:// URL (e.g. http://localhost:8086)'],
    ['list where one value is expected', 'OUTPOST_HTTP_PORT', ['1'], 'a single value, not a list'],
  ])('refuses a %s with what it expects', (_case, env, raw, expected) => {
    expect(parse(env, raw)).toEqual({ ok: false, expected });
  });

  it('reads booleans in the usual spellings', () => {
    const bool = { env: 'OUTPOST_X', path: 'x', type: 'bool', doc: 'x' } as const;
    for (const yes of ['true', 'YES', '1', 'on', true] as const) expect(parseConfigValue(bool, yes, '/')).toEqual({ ok: true, value: true });
    for (const no of ['false', 'no', '0', 'OFF', false] as const) expect(parseConfigValue(bool, no, '/')).toEqual({ ok: true, value: false });
    expect(parseConfigValue(bool, 'maybe', '/')).toEqual({ ok: false, expected: 'true or false' });
  });

  it('keeps secret values exactly as given, whitespace included', () => {
    expect(parse('OUTPOST_ADMIN_PASSWORD', '  spaced password  ')).toEqual({ ok: true, value: '  spaced password  ' });
  });
});

describe('helpers', () => {
  it('recognises host names and addresses', () => {
    expect(['localhost', 'a-b.c', '192.168.0.1', 'fe80::1', 'x.example.com.'].every(isHost)).toBe(true);
    expect(['', '-a', 'a_b', 'a..b', 'a b', `${'a'.repeat(64)}.com`].some(isHost)).toBe(false);
  });

  it('formats durations and sizes with the largest exact unit', () => {
    expect([formatDuration(3_600_000), formatDuration(1500), formatDuration(90_000), formatDuration(0)]).toEqual(['1h', '1500ms', '90s', '0ms']);
    expect([formatSize(1024 ** 3), formatSize(1000), formatSize(256 * 1024)]).toEqual(['1 GiB', '1000 B', '256 KiB']);
  });
});
