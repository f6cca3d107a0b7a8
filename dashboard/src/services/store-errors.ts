import { statusOfError } from '@outpost/kernel';
import { isOutpostError, OutpostError } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';

/** Codes of store failures that mean "not reachable now" rather than "this query is wrong". */
const UNREACHABLE_CODE = /(_UNAVAILABLE|_TIMEOUT|_REQUEST|_HTTP)$/;

function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

async function answersPing(store: TelemetryStore, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([store.ping().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Translates what a store query threw into the API's terms: a coded client error (e.g.
 * `TELEMETRY_QUERY_INVALID`, the mean of a string metric) stays as it is; a store that is down
 * or unreachable (its error says so, or it no longer answers a ping) is
 * `TELEMETRY_STORE_UNAVAILABLE` (503, retry later); anything else stays an internal error (500).
 */
export async function storeFailure(err: unknown, store: TelemetryStore, pingTimeoutMs: number): Promise<unknown> {
  if (isOutpostError(err) && statusOfError(err) < 500) return err;
  const code = codeOf(err);
  const unreachable = (code !== undefined && UNREACHABLE_CODE.test(code)) || !(await answersPing(store, pingTimeoutMs));
  if (!unreachable) return err;
  return new OutpostError('TELEMETRY_STORE_UNAVAILABLE', `the telemetry store (${store.kind}) is not answering; try again later`, { cause: err, status: 503 });
}
