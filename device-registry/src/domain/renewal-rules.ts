import { OutpostError } from '@outpost/protocol';

export const DAY_MS = 86_400_000;
/** How far a grace-renewal request's `ts` may be from the platform's clock. */
export const RENEWAL_SKEW_MS = 5 * 60_000;

/** SPEC "Identity": the agent renews after 2/3 of the lifetime. */
export function renewAfter(notBefore: number, notAfter: number): number {
  return notBefore + Math.floor(((notAfter - notBefore) * 2) / 3);
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
