import { isAbsolute, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import type { Level, Logger } from 'pino';
import { loadConfig } from '../config/load-config.js';
import type { LogFormat, OutpostConfig } from '@outpost/kernel';
import { resolveSecretKey } from '../config/secret-key.js';
import { enforceDataDirModes } from './data-dir-modes.js';
import { chooseLogFormat } from './log-format.js';
import { createPlatformLogger } from './logger.js';
import { serverParts } from './parts.js';
import { Platform } from './platform.js';
import { packageVersion } from './package-version.js';

export interface RunServerOptions {
  /** Path given with `--config`, if any. */
  readonly configFile?: string;
  /** Value of `--role`, if any (overrides OUTPOST_ROLE; ADR 0011). */
  readonly role?: string;
  /** The process environment (the CLI's main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Defaults to the process; tests pass their own emitter. */
  readonly signals?: NodeJS.EventEmitter;
  readonly cwd?: string;
  /** Value of `--log-format`, if any (else OUTPOST_LOG_FORMAT). */
  readonly logFormat?: LogFormat;
}

/** The JSON log of a pretty-logging process, under the data dir. */
export function logFilePath(config: OutpostConfig): string {
  return join(config.dataDir, 'logs', 'outpost.log');
}

/** `path` as a person in `cwd` would type it: relative when below `cwd`. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Loads the configuration of a command that runs the platform (`server`, `demo`): every problem
 * listed on stderr under the command's name (then the exit code 78), or the config and its logger.
 * The logger writes JSON to stdout, or readable lines from `terminalLevel` up to `stdout` and the
 * JSON log to `logFile` (see `chooseLogFormat`).
 */
export function loadPlatformConfig(
  command: string,
  options: Pick<RunServerOptions, 'configFile' | 'role' | 'env' | 'stdout' | 'stderr' | 'cwd' | 'logFormat'>,
  terminalLevel: Level = 'info',
): { readonly config: OutpostConfig; readonly log: Logger; readonly logFile?: string } | { readonly exitCode: number } {
  const loaded = loadConfig({
    env: options.env,
    cwd: options.cwd ?? process.cwd(),
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    ...(options.role === undefined ? {} : { role: options.role }),
  });
  if (!loaded.ok) {
    options.stderr.write(`outpost ${command}: invalid configuration (${loaded.errors.length} problem${loaded.errors.length === 1 ? '' : 's'}):\n`);
    for (const error of loaded.errors) options.stderr.write(`  - ${error}\n`);
    return { exitCode: loaded.exitCode ?? 78 };
  }
  const { config } = loaded;
  const format = chooseLogFormat({
    ...(options.logFormat === undefined ? {} : { flag: options.logFormat }),
    configured: config.logFormat,
    stdoutIsTTY: (options.stdout as { isTTY?: boolean }).isTTY === true,
  });
  let logger: ReturnType<typeof createPlatformLogger>;
  try {
    logger = createPlatformLogger({ level: config.logLevel, format, stdout: options.stdout, terminalLevel, logFile: logFilePath(config) });
  } catch (err) {
    options.stderr.write(`outpost ${command}: cannot open the log file ${logFilePath(config)}: ${err instanceof Error ? err.message : String(err)}\n`);
    return { exitCode: 1 };
  }
  const { log, logFile } = logger;
  for (const warning of loaded.warnings) log.warn(warning);
  return { config, log, ...(logFile === undefined ? {} : { logFile }) };
}

/** The secret key (generated on first use), the statically composed parts, and the platform built from them. */
export async function createPlatform(config: OutpostConfig, log: Logger, stdout: Writable): Promise<Platform> {
  const secret = await resolveSecretKey(config);
  if (secret.generated) log.warn({ path: secret.path }, 'generated a new secret key file; back it up apart from the data dir');
  for (const warning of secret.warnings ?? []) log.warn(warning);
  await enforceDataDirModes(config, log);
  return Platform.create({ config, log, secretKey: secret.key, parts: serverParts({ cluster: config.redisUrl !== undefined }), version: packageVersion(), stdout });
}

/**
 * Runs `outpost server` until SIGTERM or SIGINT; resolves with the exit code:
 * 0 after a clean shutdown, 1 when something did not close before the deadline,
 * 78 (EX_CONFIG) for invalid configuration.
 */
export async function runServer(options: RunServerOptions): Promise<number> {
  const loaded = loadPlatformConfig('server', options);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config, log, logFile } = loaded;
  if (logFile !== undefined) log.info({ logFile }, `full log (JSON lines) in ${logFile}`);

  let platform: Platform;
  try {
    platform = await createPlatform(config, log, options.stdout);
    await platform.start();
  } catch (err) {
    log.fatal({ err }, 'outpost server could not start');
    options.stderr.write(`outpost server: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  const signals = options.signals ?? process;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down');
      void platform.close().then(({ clean }) => {
        signals.off('SIGTERM', onTerm);
        signals.off('SIGINT', onInt);
        resolve(clean ? 0 : 1);
      });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
  });
}
