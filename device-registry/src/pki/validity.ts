import { OutpostError } from '@outpost/protocol';

/** Certificates start this long before `now`, so a device whose clock lags a little accepts them. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The last instant an X.509 GeneralizedTime can hold. */
const LAST_X509_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The validity of a new certificate: `now` (truncated to the second, the precision of X.509
 * times) minus the clock skew, to `now` plus `validityDays`. With `capAt` (the issuer's
 * notAfter) the end is capped there, so a certificate never outlives its CA.
 */
export function validityFor(now: number, validityDays: number, capAt?: number): Validity {
  if (!Number.isFinite(now) || now < CLOCK_SKEW_MS) {
    throw invalid('now', `now must be epoch milliseconds, got ${String(now)}`);
  }
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw invalid('validityDays', `validityDays must be a positive number, got ${String(validityDays)}`);
  }
  const start = toWholeSecond(now);
  const end = start + Math.round(validityDays * DAY_MS);
  if (end > LAST_X509_TIME) {
    throw invalid('validityDays', `validityDays ${validityDays} ends after the year 9999`);
  }
  return {
    notBefore: start - CLOCK_SKEW_MS,
    notAfter: capAt === undefined ? end : Math.min(end, toWholeSecond(capAt)),
  };
}

/** Epoch milliseconds truncated to the second. */
export function toWholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function invalid(field: string, message: string): OutpostError {
  return new OutpostError('VALIDATION_FAILED', message, { details: { field } });
}
