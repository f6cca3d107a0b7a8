import { readFileSync } from 'node:fs';
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { buildConfig, defaultPublicHost, defaultServerNames, type NetworkInterfaces } from './build-config.js';
import { checkReadableFile, crossCheck, type FileCheck } from './check-config.js';
import { parseConfigFile } from './config-file.js';
import { CONFIG_ENV_NAMES, CONFIG_KEYS, findConfigKey, type ConfigEnvName, type ConfigKeySpec } from './config-schema.js';
import { deepFreeze } from './deep-freeze.js';
import { parseConfigValue, type ConfigValue, type RawConfigValue } from './parse-value.js';
import { suggestKey } from './suggest-key.js';
import type { OutpostConfig } from '@outpost/kernel';

export interface LoadConfigInput {
  /** The process environment (only `main` passes `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--config FILE`, resolved against `cwd`. */
  readonly configFile?: string;
  /** `--role`: overrides OUTPOST_ROLE (ADR 0011). */
  readonly role?: string;
  /** Base of relative paths. */
  readonly cwd: string;
  /** For the default public host; `os.networkInterfaces` by default. */
  readonly networkInterfaces?: NetworkInterfaces;
  /** Reads the config file as UTF-8; `fs.readFileSync` by default. */
  readonly readFile?: (path: string) => string;
  /** Checks the TLS files are readable; node:fs by default. */
  readonly checkFile?: FileCheck;
}

export type LoadConfigResult =
  | { readonly ok: true; readonly config: OutpostConfig; readonly warnings: string[] }
  | {
      readonly ok: false;
      readonly errors: string[];
      /** 2 when the only problem is a cluster role without the engines it needs (else the caller's 78). */
      readonly exitCode?: number;
    };

const ENVIRONMENT = 'environment';
const DEFAULT = 'default';

/**
 * Reads, validates and freezes the configuration, once, at start-up.
 *
 * Precedence, highest first: the environment, then the `--config` file, then
 * the defaults of `config-schema.ts`; an empty value counts as unset. Every
 * problem is collected and returned at once, one line each, naming the key,
 * the value (never for secrets) and what is expected. Unknown `OUTPOST_*` keys
 * are errors in the file (probably a typo) but only warnings in the
 * environment (which other tools share).
 */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const file = readConfigFile(input, errors, warnings);
  for (const [key, value] of Object.entries(input.env)) {
    if (!key.startsWith('OUTPOST_') || value === undefined || findConfigKey(key) !== undefined) continue;
    warnings.push(`${unknownSetting(key)} in the environment; ignored`);
  }

  const values = new Map<ConfigEnvName, ConfigValue>();
  const sources = new Map<ConfigEnvName, string>();
  const invalid = new Set<ConfigEnvName>();
  for (const spec of CONFIG_KEYS) {
    const found = spec.env === 'OUTPOST_ROLE' && input.role !== undefined ? { raw: input.role, source: 'the --role flag' } : lookUp(spec, input.env, file);
    if (found === undefined) continue;
    if (found.source !== DEFAULT && spec.refused !== undefined) {
      errors.push(`${spec.env} is not supported yet (${spec.refused})`);
      continue;
    }
    const parsed = parseConfigValue(spec, found.raw, input.cwd);
    if (parsed.ok) {
      values.set(spec.env, parsed.value);
      sources.set(spec.env, found.source);
    } else {
      invalid.add(spec.env);
      errors.push(`${describeValue(spec, found.raw, found.source)}: expected ${parsed.expected}`);
    }
  }

  // Computed defaults, only for keys that were not given (a bad value stays an error).
  if (!values.has('OUTPOST_PUBLIC_HOST') && !invalid.has('OUTPOST_PUBLIC_HOST')) {
    values.set('OUTPOST_PUBLIC_HOST', defaultPublicHost(input.networkInterfaces ?? osNetworkInterfaces));
    sources.set('OUTPOST_PUBLIC_HOST', DEFAULT);
  }
  const publicHost = values.get('OUTPOST_PUBLIC_HOST');
  if (!values.has('OUTPOST_SERVER_NAMES') && !invalid.has('OUTPOST_SERVER_NAMES') && typeof publicHost === 'string') {
    values.set('OUTPOST_SERVER_NAMES', defaultServerNames(publicHost));
    sources.set('OUTPOST_SERVER_NAMES', DEFAULT);
  }

  const checked = crossCheck(values, sources, input.checkFile ?? checkReadableFile);
  errors.push(...checked.errors);
  warnings.push(...checked.warnings);
  if (errors.length > 0) return { ok: false, errors };
  const missing = clusterEnginesMissing(values);
  if (missing.length > 0) return { ok: false, errors: missing, exitCode: 2 };
  return { ok: true, config: deepFreeze(buildConfig(values)), warnings };
}

/** What a cluster role needs and embedded defaults cannot give: one state database, Redis, one telemetry store (ADR 0011). */
const CLUSTER_ENGINES: readonly { readonly env: ConfigEnvName; readonly why: string }[] = [
  { env: 'OUTPOST_DATABASE_URL', why: 'PostgreSQL (postgres://…): every node shares one state database; the embedded SQLite file serves one process only' },
  { env: 'OUTPOST_REDIS_URL', why: 'Redis (redis://…): broker nodes share sessions, subscriptions, retained messages and events through it' },
  { env: 'OUTPOST_INFLUX_URL', why: 'InfluxDB: every broker node ingests into one telemetry store; the embedded store is one file per node' },
];

function clusterEnginesMissing(values: ReadonlyMap<ConfigEnvName, ConfigValue>): string[] {
  const role = values.get('OUTPOST_ROLE');
  if (role === undefined || role === 'all') return [];
  return CLUSTER_ENGINES.filter(({ env }) => !values.has(env)).map(({ env, why }) => `--role ${String(role)} needs ${env}: ${why}`);
}

interface FileValues {
  readonly path: string;
  readonly values: ReadonlyMap<string, RawConfigValue>;
}

function readConfigFile(input: LoadConfigInput, errors: string[], warnings: string[]): FileValues | undefined {
  if (input.configFile === undefined) return undefined;
  const path = resolve(input.cwd, input.configFile);
  let text: string;
  try {
    text = (input.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
    errors.push(code === 'ENOENT' ? `config file ${path} not found` : `cannot read config file ${path} (${code ?? 'error'})`);
    return undefined;
  }
  const content = parseConfigFile(text, path);
  errors.push(...content.errors);
  warnings.push(...content.warnings);
  for (const key of content.values.keys()) {
    if (findConfigKey(key) !== undefined) continue;
    const prefixed = `OUTPOST_${key.toUpperCase()}`;
    if (key.toUpperCase().startsWith('OUTPOST_') || findConfigKey(prefixed) !== undefined) {
      errors.push(`${unknownSetting(key)} in config file ${path}`);
    } else {
      warnings.push(`${key} in config file ${path} ignored: not an Outpost setting`);
    }
  }
  return { path, values: content.values };
}

function unknownSetting(key: string): string {
  const suggestion = suggestKey(key, CONFIG_ENV_NAMES);
  return `unknown setting ${key}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`;
}

function lookUp(
  spec: ConfigKeySpec,
  env: Readonly<Record<string, string | undefined>>,
  file: FileValues | undefined,
): { raw: RawConfigValue; source: string } | undefined {
  const fromEnv = env[spec.env];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { raw: fromEnv, source: ENVIRONMENT };
  const fromFile = file?.values.get(spec.env);
  if (fromFile !== undefined && !(typeof fromFile === 'string' && fromFile.trim() === '')) {
    return { raw: fromFile, source: `config file ${file?.path ?? ''}` };
  }
  return spec.default === undefined ? undefined : { raw: spec.default, source: DEFAULT };
}

/** `KEY="value" (source)`; secrets hidden, credentials in URLs masked. */
function describeValue(spec: ConfigKeySpec, raw: RawConfigValue, source: string): string {
  if (spec.secret === true) return `${spec.env} (value hidden; ${source})`;
  const shown = JSON.stringify(raw).replace(/(\/\/)[^/@\s]*@/, '$1***@');
  return `${spec.env}=${shown} (${source})`;
}
