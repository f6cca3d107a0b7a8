import type { Writable } from 'node:stream';

export interface RunServerOptions {
  /** Path given with `--config`, if any. */
  readonly configFile?: string;
  /** Value of `--role`, if any (refused until scale-out exists). */
  readonly role?: string;
  /** The process environment (the CLI's main passes process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * Runs `outpost server` until SIGTERM/SIGINT; resolves with the process exit code.
 * (Being implemented in platform/src/server/; this signature is the contract with the CLI.)
 */
export async function runServer(options: RunServerOptions): Promise<number> {
  options.stderr.write('outpost server: not implemented yet\n');
  return 1;
}
