import { ERROR_STATUS, type ServerErrorCode } from '@outpost/kernel';

/**
 * The platform's HTTP error: a code from kernel's one error table (ERROR_STATUS), a message
 * for people, optional details and headers (e.g. retry-after). Route handlers throw it; the
 * error handler renders `{code, message, details?}` with the table's status.
 */
export type ApiErrorCode = ServerErrorCode;

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}
