import { constants, createPublicKey, verify } from 'node:crypto';

/** Standard base64, padding optional; whitespace is not tolerated. */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * Whether `signatureB64` is an RSA PKCS#1 v1.5 SHA-256 signature of `data` by the RSA key
 * `publicKeyPem` (SPKI PEM) — what a device makes with `crypto.sign('sha256', data, key)`;
 * renewals in the grace period are signed so. Anything unreadable is `false`; never throws.
 */
export function verifySignature(publicKeyPem: string, data: Uint8Array, signatureB64: string): boolean {
  try {
    if (typeof signatureB64 !== 'string' || signatureB64 === '' || !BASE64_RE.test(signatureB64)) return false;
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'rsa') return false;
    const signature = Buffer.from(signatureB64, 'base64');
    const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    if (signature.length !== modulusBytes) return false;
    return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}
