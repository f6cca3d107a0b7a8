import { accessSync, constants, statSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import type { ConfigEnvName } from './config-schema.js';
import type { ConfigValues } from './build-config.js';

/** Where each value came from, for messages: `environment`, `config file …` or `default`. */
export type ConfigSources = ReadonlyMap<ConfigEnvName, string>;

/** Why a file cannot be read (e.g. "does not exist"), undefined when it can. */
export type FileCheck = (path: string) => string | undefined;

export interface CrossCheckResult {
  readonly errors: string[];
  readonly warnings: string[];
}

const WILDCARDS = new Set(['0.0.0.0', '::']);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
const INFLUX_DETAILS: readonly ConfigEnvName[] = [
  'OUTPOST_INFLUX_TOKEN',
  'OUTPOST_INFLUX_ORG',
  'OUTPOST_INFLUX_BUCKET',
  'OUTPOST_INFLUX_RP',
  'OUTPOST_INFLUX_USERNAME',
  'OUTPOST_INFLUX_PASSWORD',
  'OUTPOST_INFLUX_ROLLUP',
  'OUTPOST_INFLUX_ROLLUP_INTERVAL',
  'OUTPOST_INFLUX_ROLLUP_SETTLE',
];

/** node:fs check: exists, is a file, and this process may read it. */
export const checkReadableFile: FileCheck = (path) => {
  try {
    if (!statSync(path).isFile()) return 'is not a file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
  }
};

/** Rules that involve several keys; run only on values that parsed. */
export function crossCheck(values: ConfigValues, sources: ConfigSources, checkFile: FileCheck): CrossCheckResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const isSet = (key: ConfigEnvName): boolean => sources.get(key) !== undefined && sources.get(key) !== 'default';
  const from = (key: ConfigEnvName): string => sources.get(key) ?? 'default';

  pair('OUTPOST_HTTP_TLS_CERT', 'OUTPOST_HTTP_TLS_KEY', 'TLS on the operator listener needs both a certificate and a key');
  for (const key of ['OUTPOST_HTTP_TLS_CERT', 'OUTPOST_HTTP_TLS_KEY'] as const) {
    const path = values.get(key);
    if (typeof path !== 'string') continue;
    const problem = checkFile(path);
    if (problem !== undefined) errors.push(`${key}=${JSON.stringify(path)} (${from(key)}): file ${problem}; expected a readable PEM file`);
  }
  pair('OUTPOST_INFLUX_USERNAME', 'OUTPOST_INFLUX_PASSWORD', 'InfluxDB basic authentication needs both a user and a password');
  checkPorts();

  if (!values.has('OUTPOST_INFLUX_URL')) {
    const ignored = INFLUX_DETAILS.filter((key) => values.has(key));
    if (ignored.length > 0) warnings.push(`${ignored.join(', ')} ignored: OUTPOST_INFLUX_URL is unset, so telemetry uses the embedded store`);
  }
  if (values.has('OUTPOST_SECRET_KEY') && isSet('OUTPOST_SECRET_KEY_FILE')) {
    warnings.push('OUTPOST_SECRET_KEY_FILE ignored: OUTPOST_SECRET_KEY is set');
  }
  const dataDir = values.get('OUTPOST_DATA_DIR');
  const keyFile = values.get('OUTPOST_SECRET_KEY_FILE');
  if (!values.has('OUTPOST_SECRET_KEY') && typeof dataDir === 'string' && typeof keyFile === 'string' && isInside(keyFile, dataDir)) {
    warnings.push(`OUTPOST_SECRET_KEY_FILE=${JSON.stringify(keyFile)} is inside OUTPOST_DATA_DIR: a backup of the data directory would then hold the key that decrypts it`);
  }
  const httpHost = values.get('OUTPOST_HTTP_HOST');
  if (typeof httpHost === 'string' && !LOOPBACK.test(httpHost) && !values.has('OUTPOST_HTTP_TLS_CERT')) {
    warnings.push(`OUTPOST_HTTP_HOST=${JSON.stringify(httpHost)} without OUTPOST_HTTP_TLS_CERT/KEY: operator passwords and tokens cross the network unencrypted`);
  }
  const publicHost = values.get('OUTPOST_PUBLIC_HOST');
  const names = values.get('OUTPOST_SERVER_NAMES');
  if (typeof publicHost === 'string' && Array.isArray(names) && !names.some((name) => name.toLowerCase() === publicHost.toLowerCase())) {
    warnings.push(`OUTPOST_SERVER_NAMES does not include the public host ${publicHost}: devices connecting to it will fail certificate checks`);
  }
  if (typeof publicHost === 'string' && !isSet('OUTPOST_PUBLIC_HOST') && LOOPBACK.test(publicHost)) {
    warnings.push(`no non-loopback IPv4 address found, so OUTPOST_PUBLIC_HOST defaults to ${publicHost}: devices on other machines cannot reach it; set OUTPOST_PUBLIC_HOST`);
  }
  return { errors, warnings };

  function pair(first: ConfigEnvName, second: ConfigEnvName, why: string): void {
    const [given, missing] = values.has(first) ? [first, second] : [second, first];
    if (values.has(given) && !values.has(missing)) errors.push(`${given} is set but ${missing} is not: ${why}`);
  }

  function checkPorts(): void {
    const listeners = (['HTTP', 'DEVICE', 'MQTT'] as const).map((name) => ({
      portKey: `OUTPOST_${name}_PORT` as const,
      host: values.get(`OUTPOST_${name}_HOST`),
      port: values.get(`OUTPOST_${name}_PORT`),
    }));
    listeners.forEach((a, i) => {
      for (const b of listeners.slice(0, i)) {
        const sameAddress = a.host === b.host || WILDCARDS.has(String(a.host)) || WILDCARDS.has(String(b.host));
        if (typeof a.port === 'number' && a.port !== 0 && a.port === b.port && sameAddress) {
          errors.push(
            `${b.portKey}=${b.port} (${from(b.portKey)}) and ${a.portKey}=${a.port} (${from(a.portKey)}) ` +
              'share a port on overlapping addresses; expected a different port for each listener',
          );
        }
      }
    });
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
