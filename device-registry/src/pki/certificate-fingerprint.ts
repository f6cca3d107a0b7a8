import { createHash } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import { parseCertificate } from './parse-certificate.js';

/**
 * `sha256:` + lowercase hex (no colons) of the certificate's DER: what `--ca-fingerprint`
 * pins and `openssl x509 -fingerprint -sha256` prints (uppercase, with colons).
 * Throws REGISTRY_CERT_INVALID when `pem` is not a certificate.
 */
export function certificateFingerprint(pem: string): string {
  return fingerprintOf(parseCertificate(pem));
}

export function fingerprintOf(cert: X509Certificate): string {
  return fingerprintOfDer(cert.raw);
}

export function fingerprintOfDer(der: Buffer): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}
