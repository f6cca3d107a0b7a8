import type { Readable, Writable } from 'node:stream';
import type { RunServerOptions } from '../server/run-server.js';

/** Standard input as the CLI needs it: a stream that may be a terminal. */
export type CliInput = Readable & {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
};

/**
 * Everything the CLI takes from the outside world. `main.ts` passes the real
 * process's; tests pass buffers, a temporary home directory and a local server.
 */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Where passwords are read from when not given as a flag; absent = none available. */
  readonly stdin?: CliInput;
  /** Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Home directory for the default credentials file (`~/.config/outpost/credentials.json`). */
  readonly homeDir: string;
  /** Clock for expiry checks and relative times; defaults to `Date.now`. */
  readonly now?: () => number;
  /** Deadline of one HTTP request to the platform; defaults to 30 s. */
  readonly requestTimeoutMs?: number;
  /** `outpost server`'s implementation; defaults to `runServer` from `../server/run-server.js`, loaded lazily. */
  readonly runServer?: (options: RunServerOptions) => Promise<number>;
}
