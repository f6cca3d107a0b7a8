import { describe, expect, it } from 'vitest';
import { loadConfig, type LoadConfigResult } from '../../src/config/index.js';
import { parseConfigFile } from '../../src/config/config-file.js';

const CWD = '/srv/outpost';

function loadWithFile(name: string, text: string | Error, env: Record<string, string> = {}): LoadConfigResult {
  return loadConfig({
    env,
    cwd: CWD,
    configFile: name,
    networkInterfaces: () => ({
      eth0: [{ address: '10.0.0.9', netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:09', internal: false, cidr: '10.0.0.9/8' }],
    }),
    checkFile: () => undefined,
    readFile: (path) => {
      if (path !== `${CWD}/${name}`) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      if (text instanceof Error) throw text;
      return text;
    },
  });
}

describe('config file', () => {
  it('reads KEY=VALUE lines with comments, quotes and export prefixes', () => {
    const result = loadWithFile(
      'outpost.env',
      [
        '# Outpost settings',
        '',
        'OUTPOST_HTTP_PORT=9000',
        'export OUTPOST_LOG_LEVEL = debug',
        'OUTPOST_ADMIN_PASSWORD="pass # with hash"   # trailing comment',
        "OUTPOST_PUBLIC_HOST='outpost.lan'",
        'OUTPOST_SPOOL_MAX_BYTES=512 MiB',
        'OUTPOST_INFLUX_DB=',
      ].join('\r\n'),
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.http.port).toBe(9000);
    expect(result.config.logLevel).toBe('debug');
    expect(result.config.adminPassword).toBe('pass # with hash');
    expect(result.config.publicHost).toBe('outpost.lan');
    expect(result.config.spoolMaxBytes).toBe(512 * 1024 * 1024);
  });

  it('reads JSON by extension or by a leading brace, with numbers, booleans, lists and null', () => {
    const json = '{"OUTPOST_HTTP_PORT": 9001, "OUTPOST_SERVER_NAMES": ["a.lan", "b.lan"], "OUTPOST_RETENTION_DAYS": "7", "OUTPOST_INFLUX_URL": null}';
    for (const name of ['outpost.json', 'outpost.conf']) {
      const result = loadWithFile(name, `\n  ${json}`);
      if (!result.ok) throw new Error(result.errors.join('\n'));
      expect(result.config.http.port).toBe(9001);
      expect(result.config.serverNames).toEqual(['a.lan', 'b.lan']);
      expect(result.config.retentionDays).toBe(7);
      expect(result.config.influx).toBeUndefined();
    }
  });

  it('lets the environment override the file, and the file override the defaults', () => {
    const result = loadWithFile('o.json', '{"OUTPOST_HTTP_PORT": 9000, "OUTPOST_MQTT_PORT": 9883}', { OUTPOST_HTTP_PORT: '7000' });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.http.port).toBe(7000);
    expect(result.config.mqtt.port).toBe(9883);
    expect(result.config.device.port).toBe(8443);
  });

  it('names the file as the source of a bad value', () => {
    const result = loadWithFile('o.json', '{"OUTPOST_HTTP_PORT": 70000, "OUTPOST_SHUTDOWN_TIMEOUT": 10}');
    expect(result.ok ? [] : result.errors).toEqual([
      'OUTPOST_HTTP_PORT=70000 (config file /srv/outpost/o.json): expected a port number from 0 to 65535 (0 = any free port)',
      'OUTPOST_SHUTDOWN_TIMEOUT=10 (config file /srv/outpost/o.json): expected a duration from 1ms to 1h, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d); a bare number has no unit',
    ]);
  });

  it('refuses unknown OUTPOST_* keys in the file with a suggestion', () => {
    const result = loadWithFile('o.env', 'OUTPOST_HTTP_PROT=8080\nOUTPOST_NONSENSE_THING=1\nhttp_port=1');
    expect(result.ok ? [] : result.errors).toEqual([
      'unknown setting OUTPOST_HTTP_PROT (did you mean OUTPOST_HTTP_PORT?) in config file /srv/outpost/o.env',
      'unknown setting OUTPOST_NONSENSE_THING in config file /srv/outpost/o.env',
      'unknown setting http_port (did you mean OUTPOST_HTTP_PORT?) in config file /srv/outpost/o.env',
    ]);
  });

  it('only warns about unrelated keys (an env file shared with other tools)', () => {
    const result = loadWithFile('o.env', 'NODE_ENV=production\nOUTPOST_HTTP_PORT=8081\nOUTPOST_HTTP_PORT=8082');
    expect(result.ok && result.config.http.port).toBe(8082);
    expect(result.ok && result.warnings).toEqual([
      'OUTPOST_HTTP_PORT is set twice in config file /srv/outpost/o.env; line 3 wins',
      'NODE_ENV in config file /srv/outpost/o.env ignored: not an Outpost setting',
    ]);
  });

  it('reports a missing or unreadable file', () => {
    const missing = loadWithFile('o.env', Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
    expect(missing.ok ? [] : missing.errors).toEqual(['config file /srv/outpost/o.env not found']);
    const denied = loadWithFile('o.env', Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    expect(denied.ok ? [] : denied.errors).toEqual(['cannot read config file /srv/outpost/o.env (EACCES)']);
  });

  it('reports bad JSON with its place, without quoting the text', () => {
    const result = loadWithFile('o.json', '{\n  "OUTPOST_ADMIN_PASSWORD": "hunter2hunter2" oops\n}');
    expect(result.ok ? [] : result.errors).toEqual(['config file /srv/outpost/o.json is not valid JSON (at line 2, column 46)']);
  });

  it('refuses JSON that is not an object of plain values', () => {
    expect(parseConfigFile('[1, 2]', 'x.json').errors).toEqual([
      'config file x.json must hold a JSON object of settings, e.g. {"OUTPOST_HTTP_PORT": 8080}',
    ]);
    expect(parseConfigFile('{"OUTPOST_HTTP_PORT": {"value": 1}}', 'x.json').errors).toEqual([
      'OUTPOST_HTTP_PORT in config file x.json: expected a string, number, boolean or list of strings',
    ]);
  });

  it('reports malformed KEY=VALUE lines by number, without quoting them', () => {
    const content = parseConfigFile('OUTPOST_HTTP_PORT=1\nthis is not a setting\nOUTPOST_ADMIN_PASSWORD="open-ended', 'x.env');
    expect(content.errors).toEqual([
      'config file x.env line 2: expected KEY=VALUE or a # comment',
      'OUTPOST_ADMIN_PASSWORD in config file x.env line 3: a quoted value must end with its quote (a # comment may follow)',
    ]);
    expect([...content.values]).toEqual([['OUTPOST_HTTP_PORT', '1']]);
  });

  it('lists file, value and cross-key problems together', () => {
    const result = loadWithFile('o.env', 'OUTPOST_HTTP_PROT=1\nOUTPOST_HTTP_TLS_CERT=/c.pem\nOUTPOST_LOG_LEVEL=verbose', { OUTPOST_DEVICE_PORT: 'x' });
    expect(result.ok ? [] : result.errors).toHaveLength(4);
  });
});
