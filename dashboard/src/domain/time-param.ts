import { MAX_EPOCH_MS, OutpostError } from '@outpost/protocol';

const EPOCH_MS = /^\d{1,16}$/;
const RFC_3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;

/**
 * A query time as sent: epoch milliseconds (`1767225600000`) or RFC 3339
 * (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00+01:00`, or a bare date = its midnight UTC).
 * Anything else is `VALIDATION_FAILED` naming the parameter.
 */
export function parseTimeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (EPOCH_MS.test(value)) ms = Number(value);
  else if (RFC_3339.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms > MAX_EPOCH_MS) {
    const message = `${name} must be epoch milliseconds or an RFC 3339 time such as 2026-01-31T12:00:00Z (got ${JSON.stringify(value.slice(0, 64))})`;
    throw new OutpostError('VALIDATION_FAILED', message, { details: [{ path: `querystring/${name}`, message }] });
  }
  return ms;
}
