import { createCertificateAuthority } from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const SKEW_MS = 5 * 60 * 1000;

/** A throwaway CA; RSA-2048 unless asked, to keep the suite quick (the default, 3072, is tested apart). */
export function throwawayCa(
  commonName = 'Outpost test CA',
  options: { validityDays?: number; now?: number; keyBits?: number } = {},
): Promise<CaMaterial & IssuedCertificate> {
  return createCertificateAuthority({
    commonName,
    validityDays: options.validityDays ?? 365,
    now: options.now ?? Date.now(),
    keyBits: options.keyBits ?? 2048,
  });
}

/** The error a function throws (or rejects with), for expectations on its code. */
export async function caught(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}
