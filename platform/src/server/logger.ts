import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import type { LogLevel } from '@outpost/kernel';
import { createPrettyStream } from './pretty-log.js';

/** Paths pino blanks out wherever they appear in a log object: secrets never reach a log. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'secretKey',
  'key',
  'privateKey',
  'cert',
  'certificate',
  'csr',
  'authorization',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.secret',
  '*.secretKey',
  '*.key',
  '*.privateKey',
  '*.cert',
  '*.certificate',
  '*.csr',
  '*.caKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.access_token',
  'headers.authorization',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'outpost' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req(req: { method?: string; url?: string; ip?: string }) {
          // Query strings may carry ?access_token=; log the path only.
          const url = typeof req.url === 'string' ? req.url.split('?')[0] : undefined;
          return { method: req.method, url, ip: req.ip };
        },
      },
    },
    options.destination,
  );
}

export interface PlatformLoggerOptions {
  /** The log's level (OUTPOST_LOG_LEVEL): of the JSON log, on stdout or in the file. */
  readonly level: LogLevel;
  /** json: JSON lines on stdout. pretty: readable lines on `stdout`, JSON lines in `logFile`. */
  readonly format: 'pretty' | 'json';
  readonly stdout: Writable;
  /** Pretty only: the least severe level shown on the terminal (never below `level`). */
  readonly terminalLevel: Level;
  /** Pretty only: the JSON log, created 0600 in a 0700 directory and appended to. */
  readonly logFile: string;
}

/**
 * The logger of `outpost server` and `outpost demo`. Throws when the log file cannot be opened.
 * Pretty mode writes the file synchronously, so nothing is lost when the process exits.
 */
export function createPlatformLogger(options: PlatformLoggerOptions): { readonly log: Logger; readonly logFile?: string } {
  if (options.format === 'json') return { log: createLogger({ level: options.level }) };
  mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
  const file = pino.destination({ dest: options.logFile, sync: true, mode: 0o600 });
  chmodSync(options.logFile, 0o600);
  const levels = pino.levels.values;
  const floor = options.level === 'silent' ? Infinity : (levels[options.level] ?? 30);
  const terminal = Math.max(floor, levels[options.terminalLevel] ?? 30);
  const streams = pino.multistream([
    { level: options.level === 'silent' ? 'fatal' : options.level, stream: file },
    { level: 'trace', stream: createPrettyStream(options.stdout, { minLevel: terminal }) },
  ]);
  return { log: createLogger({ level: options.level, destination: streams }), logFile: options.logFile };
}
