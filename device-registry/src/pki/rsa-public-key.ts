import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

/** Smallest RSA modulus Outpost accepts anywhere (SPEC "Identity": device keys are RSA-2048). */
export const MIN_RSA_BITS = 2048;
/** Largest RSA modulus accepted from outside; bounds the work a hostile key can cause. */
export const MAX_RSA_BITS = 8192;

/** Parses a public key PEM and insists on an RSA key of an acceptable size; throws VALIDATION_FAILED. */
export function rsaPublicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (cause) {
    throw new OutpostError('VALIDATION_FAILED', 'publicKeyPem is not a PEM public key', {
      cause,
      details: { field: 'publicKeyPem' },
    });
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new OutpostError(
      'VALIDATION_FAILED',
      `publicKeyPem must be an RSA key of ${MIN_RSA_BITS}..${MAX_RSA_BITS} bits, got ${describeKey(key)}`,
      { details: { field: 'publicKeyPem' } },
    );
  }
  return key;
}

/** `rsa 2048 bits`, `ec prime256v1`, `ed25519`: for messages. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (details?.modulusLength !== undefined) return `${key.asymmetricKeyType ?? 'unknown'} ${details.modulusLength} bits`;
  if (details?.namedCurve !== undefined) return `${key.asymmetricKeyType ?? 'unknown'} ${details.namedCurve}`;
  return key.asymmetricKeyType ?? 'an unknown key type';
}

/** SubjectPublicKeyInfo PEM of a public key. */
export function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
