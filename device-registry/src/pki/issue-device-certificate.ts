import { DEVICE_ID_RE, OutpostError } from '@outpost/protocol';
import { issueLeafCertificate } from './issue-leaf-certificate.js';
import type { CertificateAuthorityInput } from './prepare-certificate-authority.js';
import type { IssuedCertificate } from './types.js';

export interface IssueDeviceCertificateOptions {
  /** The device's RSA public key (SPKI PEM), e.g. `parseCsr(...).value.publicKeyPem`. */
  readonly publicKeyPem: string;
  /** Becomes the CN; must match protocol's DEVICE_ID_RE. */
  readonly deviceId: string;
  readonly validityDays: number;
  /** Epoch milliseconds; notBefore is five minutes earlier (clock skew). */
  readonly now: number;
  /** Lowercase hex; a fresh `newSerial()` unless given (so the caller can record it first). */
  readonly serial?: string;
}

/** The organization every device certificate carries, next to CN = device id. */
export const DEVICE_ORGANIZATION = 'Outpost device';

/**
 * A device's client certificate: CN = device id, O = "Outpost device", CA:FALSE, keyUsage
 * digitalSignature + keyEncipherment, extKeyUsage clientAuth, key identifiers. Throws
 * VALIDATION_FAILED for a bad device id, key, serial or lifetime, REGISTRY_CA_INVALID /
 * REGISTRY_CA_EXPIRED for unusable CA material.
 */
export async function issueDeviceCertificate(
  ca: CertificateAuthorityInput,
  options: IssueDeviceCertificateOptions,
): Promise<IssuedCertificate> {
  if (!DEVICE_ID_RE.test(options.deviceId)) {
    throw new OutpostError('DEVICE_ID_INVALID', `${JSON.stringify(options.deviceId)} is not a valid device id (${DEVICE_ID_RE.source})`, {
      details: { field: 'deviceId' },
    });
  }
  return issueLeafCertificate(ca, {
    publicKeyPem: options.publicKeyPem,
    subject: [
      { shortName: 'CN', value: options.deviceId },
      { shortName: 'O', value: DEVICE_ORGANIZATION },
    ],
    extendedKeyUsage: 'clientAuth',
    validityDays: options.validityDays,
    now: options.now,
    ...(options.serial === undefined ? {} : { serial: options.serial }),
  });
}
