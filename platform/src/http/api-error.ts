import type { ServerErrorCode } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';

/**
 * The platform's name for protocol's one error class at the HTTP edge: an OutpostError whose
 * code the compiler checks against kernel's one error table (ERROR_STATUS), which gives its
 * status like every other coded error's, plus optional response headers (e.g. retry-after).
 * The error handler renders `{code, message, details?}`.
 */
export type ApiErrorCode = ServerErrorCode;

export class ApiError extends OutpostError {
  declare readonly code: ApiErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ApiErrorCode, message: string, options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, { details: options.details, cause: options.cause });
    this.headers = options.headers ?? {};
  }
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}
