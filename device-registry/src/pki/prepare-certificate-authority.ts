import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import { decodeOid, derChildren, derChildrenOf, DER_TAG, readDerExact } from './der-reader.js';
import type { DerNode } from './der-reader.js';
import type { CaMaterial } from './types.js';

/**
 * A CA parsed and checked once, ready to sign. Every issuing function takes it in place of
 * CaMaterial: importing a private key costs OpenSSL 3 about a millisecond, and the first
 * signature with a fresh key another, so a registry that issues often prepares its CA once
 * (after unsealing the key) and passes this. It holds the private key: memory only, never logged.
 */
export interface PreparedCertificateAuthority {
  readonly kind: 'prepared-certificate-authority';
  readonly certPem: string;
  readonly x509: X509Certificate;
  readonly privateKey: KeyObject;
  /** The DER of the CA's subject, byte for byte: the issuer of what it signs. */
  readonly subjectName: Buffer;
  /** The CA's subject key identifier (for authorityKeyIdentifier). */
  readonly keyIdentifier: Buffer;
  readonly notAfter: number;
}

/** What the issuing functions accept: the material as stored, or a prepared CA. */
export type CertificateAuthorityInput = CaMaterial | PreparedCertificateAuthority;

/**
 * Parses CA material and checks it can issue: an RSA CA certificate (basicConstraints CA:TRUE)
 * whose public key matches the private key. Throws REGISTRY_CA_INVALID otherwise — a
 * configuration fault, hence status 500. A prepared CA is answered as is.
 */
export function prepareCertificateAuthority(ca: CertificateAuthorityInput): PreparedCertificateAuthority {
  if (isPrepared(ca)) return ca;
  let x509: X509Certificate;
  let privateKey: KeyObject;
  try {
    x509 = new X509Certificate(ca.certPem);
    privateKey = createPrivateKey(ca.keyPem);
  } catch (cause) {
    throw caInvalid('the CA certificate or private key cannot be parsed', cause);
  }
  if (!x509.ca) throw caInvalid(`${x509.subject} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw caInvalid(`the CA key is ${privateKey.asymmetricKeyType ?? 'unknown'}; Outpost CAs are RSA`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw caInvalid('the CA private key does not match the CA certificate');
  let names: { subjectName: Buffer; keyIdentifier: Buffer };
  try {
    names = namesAndKeyIdentifierOf(x509.raw);
  } catch (cause) {
    throw caInvalid('the CA certificate cannot be read', cause);
  }
  return {
    kind: 'prepared-certificate-authority',
    certPem: ca.certPem,
    x509,
    privateKey,
    ...names,
    notAfter: Date.parse(x509.validTo),
  };
}

function isPrepared(ca: CertificateAuthorityInput): ca is PreparedCertificateAuthority {
  return 'kind' in ca && ca.kind === 'prepared-certificate-authority';
}

/** The raw subject Name and the subjectKeyIdentifier of a certificate, read from its DER. */
function namesAndKeyIdentifierOf(der: Buffer): { subjectName: Buffer; keyIdentifier: Buffer } {
  const [tbsNode] = derChildrenOf(readDerExact(der), DER_TAG.SEQUENCE, 'Certificate');
  if (tbsNode === undefined) throw new Error('empty Certificate');
  const tbs = derChildrenOf(tbsNode, DER_TAG.SEQUENCE, 'TBSCertificate');
  // Without the [0] version the fields shift left by one.
  const shift = tbs[0]?.tag === 0xa0 ? 0 : -1;
  const subject = tbs[5 + shift];
  const spki = tbs[6 + shift];
  if (subject?.tag !== DER_TAG.SEQUENCE || spki?.tag !== DER_TAG.SEQUENCE) throw new Error('TBSCertificate has no subject or key');
  const extensions = tbs.find((field) => field.tag === 0xa3);
  const fromExtension = extensions === undefined ? undefined : keyIdentifierExtension(extensions);
  return { subjectName: subject.raw, keyIdentifier: fromExtension ?? keyIdentifierFromKey(spki) };
}

/** The value of the subjectKeyIdentifier extension (2.5.29.14) inside `[3] Extensions`, if any. */
function keyIdentifierExtension(explicit: DerNode): Buffer | undefined {
  const [sequence] = derChildren(explicit);
  if (sequence === undefined) return undefined;
  for (const extension of derChildrenOf(sequence, DER_TAG.SEQUENCE, 'Extensions')) {
    const parts = derChildrenOf(extension, DER_TAG.SEQUENCE, 'Extension');
    const [oid] = parts;
    const value = parts[parts.length - 1];
    if (oid?.tag !== DER_TAG.OID || decodeOid(oid.content) !== SUBJECT_KEY_IDENTIFIER_OID) continue;
    if (value?.tag !== DER_TAG.OCTET_STRING) return undefined;
    const inner = readDerExact(value.content);
    return inner.tag === DER_TAG.OCTET_STRING ? Buffer.from(inner.content) : undefined;
  }
  return undefined;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (without the unused-bits octet). */
function keyIdentifierFromKey(spki: DerNode): Buffer {
  const bitString = derChildren(spki)[1];
  if (bitString?.tag !== DER_TAG.BIT_STRING) throw new Error('SubjectPublicKeyInfo has no key');
  return createHash('sha1').update(bitString.content.subarray(1)).digest();
}

const SUBJECT_KEY_IDENTIFIER_OID = '2.5.29.14';

function caInvalid(message: string, cause?: unknown): OutpostError {
  return new OutpostError('REGISTRY_CA_INVALID', message, { cause, status: 500 });
}
