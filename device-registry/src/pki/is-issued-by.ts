import { X509Certificate } from 'node:crypto';

/**
 * Whether `caPem` (a CA certificate) issued `certPem`: the issuer matches the CA's subject and
 * key identifier (OpenSSL's X509_check_issued, which also wants keyCertSign when keyUsage is
 * present) and the signature verifies with the CA's key. Validity dates are not checked: a
 * device renewing in its grace period presents an expired certificate. Never throws.
 */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}
