/**
 * The one in-process platform harness: the real composition root with the parts a suite names,
 * on 127.0.0.1 with ephemeral ports, a throwaway data dir, an injected clock and the log kept as
 * data. Everything it opens is closed by close(). Suites build their own clients on top of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { Platform, createLogger, loadConfig, type Clock, type PartFactory, type PlatformOptions } from '@outpost/platform';

export const TEST_ADMIN_PASSWORD = 'correct-horse-battery-staple';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface StartPlatformOptions {
  readonly parts?: readonly PartFactory[];
  readonly clock?: Clock;
  /** Added to (and overriding) the test environment. */
  readonly env?: Record<string, string>;
  /** The initial admin's password (default TEST_ADMIN_PASSWORD); null: no initial admin password set. */
  readonly adminPassword?: string | null;
  /** Reuse a data dir (a restart); it is then not removed by close(). */
  readonly dataDir?: string;
  /** Prefix of the throwaway data dir's name. */
  readonly dirPrefix?: string;
  readonly secretKey?: Buffer;
  /** Level of the log kept in `logs` (default 'silent': nothing kept). */
  readonly logLevel?: 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Also written here as JSON lines (e.g. a platform in a child process logs to its stderr). */
  readonly logCopy?: Writable;
  readonly live?: PlatformOptions['live'];
  readonly version?: string;
  /**
   * The composition root to start (default: @outpost/platform's Platform). The platform's own
   * suites pass the class from its source, so they test that code and share its module state.
   */
  readonly composer?: { create(options: PlatformOptions): Promise<Platform> };
  /** Run after the platform closed and before the data dir is removed (e.g. a store the suite opened). */
  readonly afterClose?: () => Promise<void>;
}

export interface TestPlatform {
  readonly platform: Platform;
  readonly operatorUrl: string;
  /** The device listener's URL once bound (the registry part supplies its credentials). */
  deviceUrl(): string | undefined;
  readonly dataDir: string;
  /** What the platform printed on its stdout (the one-time admin password). */
  readonly stdout: string[];
  /** The log lines at `logLevel` and above, parsed. */
  readonly logs: LogLine[];
  close(): Promise<void>;
}

/** The environment of a test platform in `dir`: everything on 127.0.0.1, ephemeral ports. */
export function testPlatformEnv(dir: string, extra: Record<string, string> = {}, adminPassword: string | null = TEST_ADMIN_PASSWORD): Record<string, string> {
  return {
    OUTPOST_DATA_DIR: join(dir, 'data'),
    OUTPOST_SECRET_KEY_FILE: join(dir, 'secret.key'),
    OUTPOST_HTTP_HOST: '127.0.0.1',
    OUTPOST_HTTP_PORT: '0',
    OUTPOST_DEVICE_HOST: '127.0.0.1',
    OUTPOST_DEVICE_PORT: '0',
    OUTPOST_MQTT_HOST: '127.0.0.1',
    OUTPOST_MQTT_PORT: '0',
    OUTPOST_PUBLIC_HOST: '127.0.0.1',
    OUTPOST_SERVER_NAMES: 'localhost,127.0.0.1',
    OUTPOST_LOG_LEVEL: 'silent',
    ...(adminPassword === null ? {} : { OUTPOST_ADMIN_PASSWORD: adminPassword }),
    ...extra,
  };
}

export async function startPlatform(options: StartPlatformOptions = {}): Promise<TestPlatform> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), options.dirPrefix ?? 'outpost-platform-')));
  const removeDir = async (): Promise<void> => {
    if (owned) await rm(dataDir, { recursive: true, force: true });
  };
  const loaded = loadConfig({ env: testPlatformEnv(dataDir, options.env, options.adminPassword === undefined ? TEST_ADMIN_PASSWORD : options.adminPassword), cwd: dataDir });
  if (!loaded.ok) {
    await removeDir();
    throw new Error(`test config invalid: ${loaded.errors.join('; ')}`);
  }
  const logs: LogLine[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => {
    options.logCopy?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
  });
  const stdout: string[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
  const platform = await (options.composer ?? Platform).create({
    config: loaded.config,
    log: createLogger({ level: options.logLevel ?? 'silent', destination: logStream }),
    secretKey: options.secretKey ?? Buffer.alloc(32, 7),
    parts: options.parts ?? [],
    version: options.version ?? '0.0.0-test',
    stdout: out,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.live === undefined ? {} : { live: options.live }),
  });
  const close = async (): Promise<void> => {
    try {
      await platform.close(5_000);
      await options.afterClose?.();
    } finally {
      await removeDir();
    }
  };
  let operatorUrl: string;
  try {
    operatorUrl = (await platform.start()).operatorUrl;
  } catch (err) {
    await close();
    throw err;
  }
  return { platform, operatorUrl, deviceUrl: () => platform.deviceUrl(), dataDir, stdout, logs, close };
}
