import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load-config.js';
import type { OutpostConfig } from '../config/types.js';
import { resolveSecretKey } from '../config/secret-key.js';
import { createLogger } from './logger.js';
import { discoverParts } from './parts.js';
import { Platform } from './platform.js';
import { packageVersion } from './package-version.js';

export interface RunServerOptions {
  /** Path given with `--config`, if any. */
  readonly configFile?: string;
  /** Value of `--role`, if any (refused until scale-out exists). */
  readonly role?: string;
  /** The process environment (the CLI's main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Defaults to the process; tests pass their own emitter. */
  readonly signals?: NodeJS.EventEmitter;
  readonly cwd?: string;
}

/**
 * Loads the configuration of a command that runs the platform (`server`, `demo`): every problem
 * listed on stderr under the command's name (then the exit code 78), or the config and its logger.
 */
export function loadPlatformConfig(
  command: string,
  options: Pick<RunServerOptions, 'configFile' | 'role' | 'env' | 'stderr' | 'cwd'>,
): { readonly config: OutpostConfig; readonly log: Logger } | { readonly exitCode: number } {
  const loaded = loadConfig({
    env: options.env,
    cwd: options.cwd ?? process.cwd(),
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    ...(options.role === undefined ? {} : { role: options.role }),
  });
  if (!loaded.ok) {
    options.stderr.write(`outpost ${command}: invalid configuration (${loaded.errors.length} problem${loaded.errors.length === 1 ? '' : 's'}):\n`);
    for (const error of loaded.errors) options.stderr.write(`  - ${error}\n`);
    return { exitCode: 78 };
  }
  const log = createLogger({ level: loaded.config.logLevel });
  for (const warning of loaded.warnings) log.warn(warning);
  return { config: loaded.config, log };
}

/** The secret key (generated on first use), the parts found at run time, and the platform built from them. */
export async function createPlatform(config: OutpostConfig, log: Logger, stdout: Writable): Promise<Platform> {
  const secret = await resolveSecretKey(config);
  if (secret.generated) log.warn({ path: secret.path }, 'generated a new secret key file; back it up apart from the data dir');
  for (const warning of secret.warnings ?? []) log.warn(warning);
  const parts = await discoverParts();
  log.debug({ parts: parts.loaded, notYetBuilt: parts.skipped }, 'parts discovered');
  return Platform.create({ config, log, secretKey: secret.key, parts: parts.factories, version: packageVersion(), stdout });
}

/**
 * Runs `outpost server` until SIGTERM or SIGINT; resolves with the exit code:
 * 0 after a clean shutdown, 1 when something did not close before the deadline,
 * 78 (EX_CONFIG) for invalid configuration.
 */
export async function runServer(options: RunServerOptions): Promise<number> {
  const loaded = loadPlatformConfig('server', options);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config, log } = loaded;

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
