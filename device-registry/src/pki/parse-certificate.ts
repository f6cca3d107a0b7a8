import { X509Certificate } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

/** Parses the first certificate of a PEM; throws REGISTRY_CERT_INVALID with the cause. */
export function parseCertificate(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new OutpostError('REGISTRY_CERT_INVALID', 'not a PEM X.509 certificate', { cause });
  }
}
