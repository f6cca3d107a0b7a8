import { ApiError } from './api-error.js';

/** Reads a query time given as epoch milliseconds or RFC 3339; a bad one is a 400 naming the parameter. */
export function parseTimeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ApiError('VALIDATION_FAILED', `${name} must be epoch milliseconds or RFC 3339 (e.g. 2026-01-31T12:00:00Z), got "${value.slice(0, 64)}"`);
}
