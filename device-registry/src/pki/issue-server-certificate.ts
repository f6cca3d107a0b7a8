import { OutpostError } from '@outpost/protocol';
import { generateRsaKeyPair } from './generate-rsa-key-pair.js';
import { ipAddressBytes } from './ip-address-bytes.js';
import { issueLeafCertificate } from './issue-leaf-certificate.js';
import type { AltName } from './issue-leaf-certificate.js';
import { prepareCertificateAuthority } from './prepare-certificate-authority.js';
import type { CertificateAuthorityInput } from './prepare-certificate-authority.js';
import type { IssuedCertificate } from './types.js';

export interface IssueServerCertificateOptions {
  /** Host names and IP addresses (OUTPOST_SERVER_NAMES); the first becomes the CN. */
  readonly names: readonly string[];
  readonly validityDays: number;
  /** Epoch milliseconds; notBefore is five minutes earlier (clock skew). */
  readonly now: number;
}

/** A DNS name (optionally one leading `*.` label), 1..253 characters, labels of 1..63. */
const DNS_NAME_RE = /^(\*\.)?(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/i;
const MAX_DNS_NAME = 253;
const MAX_COMMON_NAME = 64;

/**
 * The platform's TLS server certificate with a fresh RSA-2048 key: CN = the first name, every
 * name in subjectAltName (IP addresses, v4 or v6, as iPAddress; the rest as dNSName),
 * extKeyUsage serverAuth, CA:FALSE, key identifiers. Throws VALIDATION_FAILED for an empty list
 * or a name that is neither a DNS name nor an IP address.
 */
export async function issueServerCertificate(
  ca: CertificateAuthorityInput,
  options: IssueServerCertificateOptions,
): Promise<{ keyPem: string } & IssuedCertificate> {
  const [commonName] = options.names;
  if (commonName === undefined) throw invalidName('names must hold at least one host name or IP address');
  if (commonName.length > MAX_COMMON_NAME) throw invalidName(`the first name becomes the CN and must be at most ${MAX_COMMON_NAME} characters`);
  const altNames = altNamesOf(options.names);
  // Check the CA before spending a key generation on it.
  const authority = prepareCertificateAuthority(ca);
  const keys = await generateRsaKeyPair(2048);
  const issued = await issueLeafCertificate(authority, {
    publicKeyPem: keys.publicKeyPem,
    subject: [{ shortName: 'CN', value: commonName }],
    extendedKeyUsage: 'serverAuth',
    altNames,
    validityDays: options.validityDays,
    now: options.now,
  });
  return { keyPem: keys.privateKeyPem, ...issued };
}

function altNamesOf(names: readonly string[]): AltName[] {
  const seen = new Set<string>();
  const altNames: AltName[] = [];
  for (const name of names) {
    const ip = ipAddressBytes(name);
    const altName: AltName | undefined =
      ip !== undefined
        ? { type: 7, value: ip.toString('binary') }
        : name.length <= MAX_DNS_NAME && DNS_NAME_RE.test(name)
          ? { type: 2, value: name.toLowerCase() }
          : undefined;
    if (altName === undefined) throw invalidName(`${JSON.stringify(name)} is neither a DNS name nor an IP address`);
    const key = `${altName.type}:${altName.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    altNames.push(altName);
  }
  return altNames;
}

function invalidName(message: string): OutpostError {
  return new OutpostError('VALIDATION_FAILED', message, { details: { field: 'names' } });
}
