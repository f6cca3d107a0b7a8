import { OutpostError } from '@outpost/protocol';
import { issueLeafCertificate } from './issue-leaf-certificate.js';
import type { CertificateAuthorityInput } from './prepare-certificate-authority.js';
import type { IssuedCertificate } from './types.js';

export interface IssueClientCertificateOptions {
  /** The client's RSA public key (SPKI PEM). */
  readonly publicKeyPem: string;
  /** Becomes the CN, e.g. `grafana-bridge`. */
  readonly name: string;
  /** Becomes the OU, e.g. `integration` (SPEC: `outpost credentials create --role integration`). */
  readonly role: string;
  readonly validityDays: number;
  /** Epoch milliseconds; notBefore is five minutes earlier (clock skew). */
  readonly now: number;
  /** Lowercase hex; a fresh `newSerial()` unless given. */
  readonly serial?: string;
}

/** The organization every non-device client certificate carries. */
export const CLIENT_ORGANIZATION = 'Outpost client';

/** Client names: a letter or digit, then letters, digits, `.`, `_`, `-`; at most 64 (a CN's limit). */
export const CLIENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Roles: lowercase words joined by `-`, e.g. `integration`. */
export const CLIENT_ROLE_RE = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * A client certificate for a non-device identity (an integration): CN = name, OU = role,
 * O = "Outpost client"; otherwise exactly a device certificate (clientAuth, CA:FALSE, key
 * identifiers), by the same code path. The broker tells identities apart by O/OU, never by CN.
 */
export async function issueClientCertificate(
  ca: CertificateAuthorityInput,
  options: IssueClientCertificateOptions,
): Promise<IssuedCertificate> {
  if (!CLIENT_NAME_RE.test(options.name)) {
    throw new OutpostError('VALIDATION_FAILED', `client name ${JSON.stringify(options.name)} must match ${CLIENT_NAME_RE.source}`, {
      details: { field: 'name' },
    });
  }
  if (!CLIENT_ROLE_RE.test(options.role)) {
    throw new OutpostError('VALIDATION_FAILED', `client role ${JSON.stringify(options.role)} must match ${CLIENT_ROLE_RE.source}`, {
      details: { field: 'role' },
    });
  }
  return issueLeafCertificate(ca, {
    publicKeyPem: options.publicKeyPem,
    subject: [
      { shortName: 'CN', value: options.name },
      { shortName: 'O', value: CLIENT_ORGANIZATION },
      { shortName: 'OU', value: options.role },
    ],
    extendedKeyUsage: 'clientAuth',
    validityDays: options.validityDays,
    now: options.now,
    ...(options.serial === undefined ? {} : { serial: options.serial }),
  });
}
