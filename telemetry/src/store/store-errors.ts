/**
 * The coded errors of the TelemetryStore adapters; their HTTP statuses (400, 503) are in
 * kernel's error table (ERROR_STATUS).
 *
 * - `TELEMETRY_QUERY_INVALID`: a query the store refuses for good (bad device id or metric name,
 *   `to <= from`, too many buckets, mean/min/max of a boolean or string metric).
 * - `TELEMETRY_STORE_UNAVAILABLE`: the store is down, slow or closed; retry later. `write`
 *   rejects with it so the caller keeps the data (`retryable: true` in `details`).
 */
import { OutpostError } from '@outpost/protocol';

export const TELEMETRY_QUERY_INVALID = 'TELEMETRY_QUERY_INVALID';
export const TELEMETRY_STORE_UNAVAILABLE = 'TELEMETRY_STORE_UNAVAILABLE';

export function queryInvalid(message: string, details?: object): OutpostError {
  return new OutpostError(TELEMETRY_QUERY_INVALID, message, details === undefined ? {} : { details });
}

export function storeUnavailable(message: string, cause?: unknown, details: object = {}): OutpostError {
  return new OutpostError(TELEMETRY_STORE_UNAVAILABLE, message, { cause, details: { retryable: true, ...details } });
}

/** True for an error a caller should retry later (the store was down, slow or closing). */
export function isRetryableStoreError(error: unknown): boolean {
  return error instanceof OutpostError && error.code === TELEMETRY_STORE_UNAVAILABLE;
}
