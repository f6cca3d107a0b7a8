// Folder barrel for the platform's own code (CLI, server): the configuration module's public names.
export type { HttpListenerConfig, InfluxApi, InfluxConfig, LimitsConfig, ListenerConfig, LogFormat, LogLevel, OutpostConfig } from '@outpost/kernel';
export { CONFIG_KEYS, CONFIG_ENV_NAMES, findConfigKey, type ConfigEnvName, type ConfigKeySpec, type ConfigValueType } from './config-schema.js';
export { loadConfig, type LoadConfigInput, type LoadConfigResult } from './load-config.js';
export {
  resolveSecretKey,
  decodeSecretKey,
  SECRET_KEY_BYTES,
  type ResolvedSecretKey,
  type SecretKeyDeps,
  type SecretKeyFs,
} from './secret-key.js';
export { describeConfig, CONFIG_PRECEDENCE, type DescribeFormat } from './describe-config.js';
export { ConfigError, type ConfigErrorCode } from './config-error.js';
