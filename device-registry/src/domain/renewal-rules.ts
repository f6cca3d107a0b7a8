import { OutpostError } from '@outpost/protocol';

export const DAY_MS = 86_400_000;
/** How far a grace-renewal request's `ts` may be from the platform's clock. */
export const RENEWAL_SKEW_MS = 5 * 60_000;

/** SPEC "Identity": the agent renews after 2/3 of the lifetime. */
export function renewAfter(notBefore: number, notAfter: number): number {
  return notBefore + Math.floor(((notAfter - notBefore) * 2) / 3);
}

/**
 * From when the platform issues a renewal with a new key while a certificate is still valid:
 * `percent` into its lifetime (`OUTPOST_RENEW_FROM_PERCENT`, default 60 — the agent's 2/3 mark
 * less a margin for a device clock that runs ahead: 6 days of a 90-day certificate). Before
 * that, a renewal with the same key answers the current certificate again and one with another
 * key is refused (issue 11, D5).
 */
export function renewalOpensAt(notBefore: number, notAfter: number, percent: number): number {
  return notBefore + Math.floor(((notAfter - notBefore) * percent) / 100);
}

/**
 * Grace renewal: a request signed with the key of the device's latest certificate is
 * accepted when `ts` is within five minutes of now and that certificate expired less than
 * `graceDays` ago (or has not expired at all).
 */
export function checkGraceRenewal(input: { ts: number; now: number; certNotAfter: number; graceDays: number }): OutpostError | undefined {
  const { ts, now, certNotAfter, graceDays } = input;
  if (Math.abs(now - ts) > RENEWAL_SKEW_MS) {
    return new OutpostError('RENEW_CLOCK_SKEW', `the request's ts is ${Math.round((ts - now) / 1000)} s from the platform's clock (at most ${RENEWAL_SKEW_MS / 1000} s allowed): set the device clock`, {
      status: 401,
    });
  }
  if (now - certNotAfter > graceDays * DAY_MS) {
    return new OutpostError('RENEW_GRACE_EXPIRED', `the certificate expired ${Math.floor((now - certNotAfter) / DAY_MS)} days ago, beyond the ${graceDays}-day renewal grace: enroll the device again with a token`, {
      status: 403,
    });
  }
  return undefined;
}

export type CertificateValidity = 'valid' | 'expired' | 'not-yet-valid' | 'revoked';

export function certificateValidity(cert: { notBefore: number; notAfter: number; revokedAt: number | null }, now: number): CertificateValidity {
  if (cert.revokedAt !== null) return 'revoked';
  if (now < cert.notBefore) return 'not-yet-valid';
  if (now >= cert.notAfter) return 'expired';
  return 'valid';
}

/** The device's certificate a renewal would replace: its newest one that is valid at `now`. */
export function currentCertificate<T extends { notBefore: number; notAfter: number; revokedAt: number | null; createdAt: number }>(certificates: readonly T[], now: number): T | undefined {
  let current: T | undefined;
  for (const cert of certificates) {
    if (certificateValidity(cert, now) !== 'valid') continue;
    if (current === undefined || cert.notBefore > current.notBefore || (cert.notBefore === current.notBefore && cert.createdAt > current.createdAt)) current = cert;
  }
  return current;
}

/**
 * A renewal with a new key while `current` is not yet near its renewal time: RENEW_TOO_EARLY
 * (409) with the seconds until the window opens in `details.retryAfterS`.
 */
export function tooEarlyRefusal(deviceId: string, current: { serial: string; notBefore: number; notAfter: number }, now: number, percent: number): OutpostError | undefined {
  const opensAt = renewalOpensAt(current.notBefore, current.notAfter, percent);
  if (now >= opensAt) return undefined;
  const retryAfterS = Math.ceil((opensAt - now) / 1000);
  return new OutpostError(
    'RENEW_TOO_EARLY',
    `device ${deviceId} already holds certificate ${current.serial}, valid until ${new Date(current.notAfter).toISOString()}; ` +
      `a renewal with a new key is accepted from ${new Date(opensAt).toISOString()} (retry in ${retryAfterS} s), and a renewal with the same key answers that certificate again`,
    { status: 409, details: { retryAfterS, serial: current.serial } },
  );
}
