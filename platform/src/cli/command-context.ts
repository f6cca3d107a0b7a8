import { createApiClient, type ApiClient } from './api-client.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './cli-error.js';
import type { CommandContext, CommandSpec } from './command.js';
import { resolveConnection } from './connection.js';
import { createCredentialsStore, credentialsPath } from './credentials-store.js';
import type { ParsedCommandLine } from './parse-command-line.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The context a handler runs with, built from the parsed command line and the io. */
export function createCommandContext(root: CommandSpec, parsed: ParsedCommandLine, io: CliIo): CommandContext {
  const credentials = createCredentialsStore(credentialsPath(io.env, io.homeDir));
  const now = io.now ?? Date.now;
  const flagString = (name: string): string | undefined => {
    const value = parsed.flags.get(name);
    return typeof value === 'string' ? value : undefined;
  };

  const context: CommandContext = {
    root,
    path: parsed.path,
    io,
    credentials,
    now,

    arg(name) {
      const value = parsed.args.get(name);
      if (typeof value !== 'string') throw new UsageError(`missing argument ${name}`, parsed.path);
      return value;
    },
    optionalArg(name) {
      const value = parsed.args.get(name);
      return typeof value === 'string' ? value : undefined;
    },
    rest(name) {
      const value = parsed.args.get(name);
      return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
    },
    string: flagString,
    boolean(name) {
      return parsed.flags.get(name) === true;
    },
    strings(name) {
      const value = parsed.flags.get(name);
      return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
    },
    print(line) {
      io.stdout.write(`${line}\n`);
    },
    note(line) {
      io.stderr.write(`${line}\n`);
    },
    async api(): Promise<ApiClient> {
      const connection = await resolveConnection({
        flagServer: flagString('server'),
        flagToken: flagString('token'),
        env: io.env,
        credentials,
        now: now(),
        helpPath: parsed.path,
      });
      return createApiClient({
        server: connection.server,
        token: connection.token,
        fetch: io.fetch ?? globalThis.fetch,
        timeoutMs: io.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        unauthenticatedHint: connection.unauthenticatedHint,
      });
    },
    usageError(message) {
      return new UsageError(message, parsed.path);
    },
  };
  return context;
}
