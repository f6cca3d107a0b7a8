import type { ApiClient } from './api-client.js';
import type { CliIo } from './cli-io.js';
import type { CredentialsStore } from './credentials-store.js';

/** A flag of a command, e.g. `--role ROLE`. Every command also gets `-h, --help`. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  readonly short?: string;
  /** Placeholder shown in help (`--ttl DURATION`); defaults to the flag's name in capitals. */
  readonly valueName?: string;
  /** Accepted values; anything else is a usage error. */
  readonly choices?: readonly string[];
  readonly required?: boolean;
  /** The default as shown in help (display only: handlers apply defaults themselves). */
  readonly default?: string;
  /** May be given several times; read with `ctx.strings()`. */
  readonly multiple?: boolean;
}

/** A positional argument, e.g. `NAME`. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** Takes all remaining arguments (last argument only). */
  readonly variadic?: boolean;
  readonly choices?: readonly string[];
}

/**
 * One node of the command tree: a command with a handler, or a group with
 * subcommands. The tree is data: parsing, validation and help are derived from it.
 */
export interface CommandSpec {
  readonly name: string;
  /** One line for the parent's command list. */
  readonly summary: string;
  /** Paragraph(s) for the command's own help; defaults to the summary. */
  readonly description?: string;
  readonly flags?: Readonly<Record<string, FlagSpec>>;
  readonly args?: readonly ArgSpec[];
  readonly subcommands?: readonly CommandSpec[];
  readonly examples?: readonly string[];
  /** More lines for the end of the command's help (e.g. the server's configuration keys). */
  readonly extraHelp?: () => Promise<readonly string[]>;
  /** Resolves with the exit code (undefined = 0); throws `CliError`/`UsageError` for expected failures. */
  readonly run?: (ctx: CommandContext) => Promise<number | undefined>;
}

/** What a handler receives: its parsed arguments and flags, output, and the API. */
export interface CommandContext {
  readonly root: CommandSpec;
  /** Command names from the root, e.g. `['users', 'create']`. */
  readonly path: readonly string[];
  readonly io: CliIo;
  readonly credentials: CredentialsStore;
  now(): number;
  /** A required positional argument (validated by the parser). */
  arg(name: string): string;
  optionalArg(name: string): string | undefined;
  /** The values of a variadic argument. */
  rest(name: string): readonly string[];
  string(flag: string): string | undefined;
  boolean(flag: string): boolean;
  /** All values of a `multiple` flag. */
  strings(flag: string): readonly string[];
  /** A line of the command's output, on stdout. */
  print(line: string): void;
  /** A line for the person at the terminal (progress, hints, one-time-secret notices), on stderr. */
  note(line: string): void;
  /** The REST API client for `--server`/`--token`, env or the saved login; throws when there is no token. */
  api(): Promise<ApiClient>;
  /** A usage error pointing at this command's help. */
  usageError(message: string): Error;
}
