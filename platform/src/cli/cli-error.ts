/**
 * The CLI's coded errors. Handlers throw them; `runCli` prints one line and
 * returns the exit code. Anything else that escapes is a bug and is reported as such.
 */
export type CliErrorCode =
  | 'CLI_USAGE'
  | 'CLI_API_ERROR'
  | 'CLI_UNREACHABLE'
  | 'CLI_BAD_RESPONSE'
  | 'CLI_NOT_LOGGED_IN'
  | 'CLI_CREDENTIALS'
  | 'CLI_CANCELLED'
  | 'CLI_FAILED';

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A mistake on the command line: exit code 2 and a pointer to the command's help. */
export class UsageError extends CliError {
  /** The command whose `--help` the message points to, e.g. `['users', 'create']`. */
  readonly helpPath: readonly string[];

  constructor(message: string, helpPath: readonly string[]) {
    super('CLI_USAGE', message, { exitCode: 2 });
    this.name = 'UsageError';
    this.helpPath = helpPath;
  }
}

/** The platform answered with an error status. */
export class ApiAnswerError extends CliError {
  readonly status: number;
  /** The platform's error code (e.g. `UNAUTHENTICATED`), when its answer had one. */
  readonly apiCode: string | undefined;

  constructor(status: number, apiCode: string | undefined, message: string) {
    super('CLI_API_ERROR', message);
    this.name = 'ApiAnswerError';
    this.status = status;
    this.apiCode = apiCode;
  }
}
