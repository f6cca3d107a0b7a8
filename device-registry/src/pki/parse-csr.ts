import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { fail, ok } from '@outpost/protocol';
import type { Result } from '@outpost/protocol';
import { decodeDirectoryString, decodeOid, derChildren, derChildrenOf, DER_TAG, readDerExact } from './der-reader.js';
import type { DerNode } from './der-reader.js';
import { derToPem } from './der-to-pem.js';
import { describeKey, MAX_RSA_BITS, MIN_RSA_BITS } from './rsa-public-key.js';

export const CSR_ERROR_CODES = ['CSR_PEM_INVALID', 'CSR_SIGNATURE_INVALID', 'CSR_KEY_UNSUPPORTED', 'CSR_KEY_TOO_SMALL'] as const;
export type CsrErrorCode = (typeof CSR_ERROR_CODES)[number];

export interface ParsedCsr {
  /** The requester's key as SPKI PEM, ready for issueDeviceCertificate. */
  readonly publicKeyPem: string;
  /** The first CN of the subject, when there is one (the device may propose its id). */
  readonly commonName?: string;
  readonly keyBits: number;
}

/** Largest CSR accepted, in bytes of PEM text; an RSA-4096 CSR is under 2 KiB. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

const PEM_RE = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----\s*?\n([A-Za-z0-9+/=\s]+?)-----END (NEW )?CERTIFICATE REQUEST-----/;
const COMMON_NAME_OID = '2.5.4.3';
const RSA_OID = '1.2.840.113549.1.1.1';

/** RSA PKCS#1 v1.5 signature algorithms and their hash; SHA-1 too (node-forge's `csr.sign` default). */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/**
 * Reads a PKCS#10 certificate signing request (PEM) and proves the requester holds the key:
 * the self-signature must verify. Only RSA keys of 2048..8192 bits are accepted. Parsing is done
 * by a strict DER reader and verification by Node's crypto, so any key type (EC included, which
 * node-forge refuses to parse) is classified rather than thrown. Never throws.
 */
export function parseCsr(pem: string): Result<ParsedCsr, CsrErrorCode> {
  try {
    return parseCsrUnsafe(pem);
  } catch (error) {
    return fail('CSR_PEM_INVALID', `the CSR cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseCsrUnsafe(pem: unknown): Result<ParsedCsr, CsrErrorCode> {
  if (typeof pem !== 'string') return fail('CSR_PEM_INVALID', 'the CSR must be a PEM string');
  const size = Buffer.byteLength(pem, 'utf8');
  if (size > MAX_CSR_PEM_BYTES) return fail('CSR_PEM_INVALID', `the CSR is ${size} bytes, the limit is ${MAX_CSR_PEM_BYTES}`);
  const match = PEM_RE.exec(pem);
  const body = match?.[2];
  if (body === undefined) {
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
    return fail(
      'CSR_PEM_INVALID',
      label === undefined
        ? 'no "-----BEGIN CERTIFICATE REQUEST-----" ... "-----END CERTIFICATE REQUEST-----" block found'
        : `expected a CERTIFICATE REQUEST PEM, got ${label} (or its END line is missing)`,
    );
  }
  const der = Buffer.from(body.replace(/\s/g, ''), 'base64');

  let request: CsrParts;
  try {
    request = readRequest(der);
  } catch (error) {
    return fail('CSR_PEM_INVALID', `the CSR is not a DER PKCS#10 request: ${error instanceof Error ? error.message : String(error)}`);
  }

  let key: KeyObject;
  try {
    key = createPublicKey({ key: request.spki.raw, format: 'der', type: 'spki' });
  } catch (error) {
    return fail('CSR_KEY_UNSUPPORTED', `the CSR's public key cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (key.asymmetricKeyType !== 'rsa' || keyAlgorithmOid(request.spki) !== RSA_OID) {
    return fail('CSR_KEY_UNSUPPORTED', `the CSR's key is ${describeKey(key)}; only RSA keys are supported`);
  }
  const keyBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyBits > MAX_RSA_BITS) return fail('CSR_KEY_UNSUPPORTED', `the CSR's RSA key has ${keyBits} bits, the limit is ${MAX_RSA_BITS}`);
  const exponent = key.asymmetricKeyDetails?.publicExponent;
  if (exponent !== undefined && exponent > 0xffffffffn) return fail('CSR_KEY_UNSUPPORTED', "the CSR's RSA public exponent is larger than 32 bits");

  const hash = SIGNATURE_HASHES[request.algorithmOid];
  if (hash === undefined) {
    return fail('CSR_SIGNATURE_INVALID', `the CSR is signed with ${request.algorithmOid}; RSA PKCS#1 v1.5 with SHA-1/256/384/512 is supported`);
  }
  if (!signatureVerifies(hash, request, key)) {
    return fail('CSR_SIGNATURE_INVALID', "the CSR's signature does not verify with its own public key");
  }
  if (keyBits < MIN_RSA_BITS) return fail('CSR_KEY_TOO_SMALL', `the CSR's RSA key has ${keyBits} bits, at least ${MIN_RSA_BITS} are required`);

  // The SPKI bytes as sent (Node re-exporting them costs more than the whole check).
  const publicKeyPem = derToPem('PUBLIC KEY', request.spki.raw);
  const { commonName } = request;
  return ok(commonName === undefined ? { publicKeyPem, keyBits } : { publicKeyPem, commonName, keyBits });
}

function signatureVerifies(hash: string, request: CsrParts, key: KeyObject): boolean {
  try {
    return verify(hash, request.info.raw, key, request.signature);
  } catch {
    return false;
  }
}

interface CsrParts {
  /** The CertificationRequestInfo, byte for byte as signed. */
  readonly info: DerNode;
  readonly algorithmOid: string;
  readonly signature: Buffer;
  readonly spki: DerNode;
  readonly commonName: string | undefined;
}

/**
 * CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 * CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name, subjectPKInfo, [0] attributes }
 */
function readRequest(der: Buffer): CsrParts {
  const parts = derChildrenOf(readDerExact(der), DER_TAG.SEQUENCE, 'CertificationRequest');
  const [info, algorithm, signature] = parts;
  if (parts.length !== 3 || info === undefined || algorithm === undefined || signature === undefined) {
    throw new Error('CertificationRequest must have exactly three parts');
  }
  const [version, subject, spki, attributes] = derChildrenOf(info, DER_TAG.SEQUENCE, 'CertificationRequestInfo');
  if (version?.tag !== DER_TAG.INTEGER || version.content.length !== 1 || version.content[0] !== 0) throw new Error('version must be 0 (v1)');
  if (subject?.tag !== DER_TAG.SEQUENCE) throw new Error('subject must be a Name');
  if (spki?.tag !== DER_TAG.SEQUENCE) throw new Error('subjectPKInfo must be a SEQUENCE');
  if (attributes?.tag !== 0xa0) throw new Error('attributes [0] missing');
  const [algorithmOid] = derChildrenOf(algorithm, DER_TAG.SEQUENCE, 'signatureAlgorithm');
  if (algorithmOid?.tag !== DER_TAG.OID) throw new Error('signatureAlgorithm has no OID');
  if (signature.tag !== DER_TAG.BIT_STRING || signature.content[0] !== 0) throw new Error('signature must be a BIT STRING with no unused bits');
  return {
    info,
    algorithmOid: decodeOid(algorithmOid.content),
    signature: signature.content.subarray(1),
    spki,
    commonName: commonNameOf(subject),
  };
}

/** The algorithm OID of a SubjectPublicKeyInfo (rsaEncryption, rsassa-pss, id-ecPublicKey, ...). */
function keyAlgorithmOid(spki: DerNode): string | undefined {
  const [algorithm] = derChildren(spki);
  const [oid] = algorithm === undefined ? [] : derChildren(algorithm);
  return oid?.tag === DER_TAG.OID ? decodeOid(oid.content) : undefined;
}

/** The first CN of a Name (SEQUENCE OF SET OF SEQUENCE { type, value }). */
function commonNameOf(name: DerNode): string | undefined {
  for (const rdn of derChildrenOf(name, DER_TAG.SEQUENCE, 'Name')) {
    for (const pair of derChildrenOf(rdn, DER_TAG.SET, 'RelativeDistinguishedName')) {
      const [type, value] = derChildrenOf(pair, DER_TAG.SEQUENCE, 'AttributeTypeAndValue');
      if (type?.tag === DER_TAG.OID && value !== undefined && decodeOid(type.content) === COMMON_NAME_OID) {
        return decodeDirectoryString(value);
      }
    }
  }
  return undefined;
}
