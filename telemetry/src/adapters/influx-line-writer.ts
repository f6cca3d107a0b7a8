/**
 * Sends lines to InfluxDB in bounded bodies with retries, and finds the lines InfluxDB refuses.
 *
 * - 5xx, 429, timeouts and network errors: retried with backoff (`maxRetries`), then the write
 *   rejects with TELEMETRY_STORE_UNAVAILABLE, so the caller keeps the data and retries later.
 * - 401, 403, 404 (credentials, unknown database or bucket): nothing a line did; rejects at once
 *   with TELEMETRY_STORE_UNAVAILABLE (an operator must fix the configuration).
 * - 400, 413, 422 (a bad line, a field type conflict, points beyond retention, a body too
 *   large): the body is split in halves and each half sent again until the refused lines stand
 *   alone. InfluxDB keeps the good lines of a partial write, and writing a line twice stores the
 *   same point, so resending them is harmless. A lone refused line is reported, never retried.
 */
import { HttpError } from '@influxdata/influxdb-client';
import { storeUnavailable } from '../store/store-errors.js';
import { textOf, type LineBody } from './influx-batch.js';

export interface LineWriterOptions {
  /** Posts one body of newline-separated lines; rejects with the client's HttpError or a network error. */
  readonly post: (body: string) => Promise<void>;
  /** Retries of one body after a retryable failure (default 2). */
  readonly maxRetries: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Called for every retry (for the `retries` counter). */
  readonly onRetry: () => void;
}

export interface RefusedLine {
  /** The line's batch-wide index. */
  readonly index: number;
  readonly reason: string;
}

const PER_LINE_STATUSES = new Set([400, 413, 422]);
const CONFIG_STATUSES = new Set([401, 403, 404]);

function statusOf(error: unknown): number | undefined {
  return error instanceof HttpError ? error.statusCode : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof HttpError) {
    const json = error.json as { error?: unknown; message?: unknown } | undefined;
    const detail = typeof json?.error === 'string' ? json.error : typeof json?.message === 'string' ? json.message : error.body;
    return `HTTP ${error.statusCode}: ${String(detail ?? error.message).slice(0, 500)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes lines [start, end) of `body` (all of them by default); resolves with the refused lines
 * (batch-wide indexes: `body.first` + index in the body), rejects with TELEMETRY_STORE_UNAVAILABLE
 * when InfluxDB cannot take the body now.
 */
export async function writeLines(body: LineBody, options: LineWriterOptions, start = 0, end = body.ends.length): Promise<RefusedLine[]> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await options.post(textOf(body, start, end));
      return [];
    } catch (error) {
      const status = statusOf(error);
      if (status !== undefined && PER_LINE_STATUSES.has(status)) {
        if (end - start === 1) return [{ index: body.first + start, reason: messageOf(error) }];
        const middle = start + Math.ceil((end - start) / 2);
        const left = await writeLines(body, options, start, middle);
        const right = await writeLines(body, options, middle, end);
        return [...left, ...right];
      }
      if (status !== undefined && CONFIG_STATUSES.has(status)) {
        throw storeUnavailable(`InfluxDB refused the write (check the database/bucket and credentials): ${messageOf(error)}`, error, { status });
      }
      if (attempt >= options.maxRetries) {
        throw storeUnavailable(`InfluxDB write failed after ${attempt + 1} attempt(s): ${messageOf(error)}`, error, status === undefined ? {} : { status });
      }
      options.onRetry();
      await sleep(Math.min(options.retryMaxMs, options.retryMinMs * 2 ** attempt));
    }
  }
}
