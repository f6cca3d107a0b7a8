import { fingerprintOf } from './certificate-fingerprint.js';
import { parseCertificate } from './parse-certificate.js';
import { spkiPem } from './rsa-public-key.js';
import type { CertificateInfo } from './types.js';

/**
 * What the registry stores about a certificate, read by Node's X509Certificate. The serial is
 * lowercase hex; a CN missing from the subject or issuer reads as ''. Throws
 * REGISTRY_CERT_INVALID when `pem` is not a certificate.
 */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = parseCertificate(pem);
  const legacy = cert.toLegacyObject();
  return {
    serial: cert.serialNumber.toLowerCase(),
    subjectCn: firstValue(legacy.subject.CN),
    issuerCn: firstValue(legacy.issuer.CN),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    fingerprint: fingerprintOf(cert),
    publicKeyPem: spkiPem(cert.publicKey),
  };
}

/** A name attribute from toLegacyObject(): a string, or an array when the attribute repeats. */
function firstValue(value: string | string[] | undefined): string {
  if (Array.isArray(value)) return value[0] ?? '';
  return value ?? '';
}
