import { createPrivateKey } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import forge from 'node-forge';
import { fingerprintOfDer } from './certificate-fingerprint.js';
import { generateRsaKeyPair } from './generate-rsa-key-pair.js';
import { newSerial } from './new-serial.js';
import { signForgeCertificate } from './sign-forge-certificate.js';
import type { CaMaterial, IssuedCertificate } from './types.js';
import { validityFor } from './validity.js';

export interface CreateCertificateAuthorityOptions {
  readonly commonName: string;
  readonly validityDays: number;
  /** Epoch milliseconds; notBefore is five minutes earlier (clock skew). */
  readonly now: number;
  /** RSA modulus size; 3072 unless given. */
  readonly keyBits?: number;
}

/** Longest CN X.509 allows (ub-common-name). */
const MAX_COMMON_NAME = 64;

/**
 * A new self-signed platform CA: RSA (3072 bits by default), basicConstraints CA:TRUE with
 * pathlen 0 (it signs end entities only), keyUsage keyCertSign + cRLSign, subject and authority
 * key identifiers. The private key comes back as PKCS#8 PEM, for the caller to seal at rest.
 */
export async function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions,
): Promise<CaMaterial & IssuedCertificate> {
  const { commonName } = options;
  if (commonName.trim() === '' || commonName.length > MAX_COMMON_NAME) {
    throw new OutpostError('VALIDATION_FAILED', `commonName must be 1..${MAX_COMMON_NAME} characters, got ${JSON.stringify(commonName)}`, {
      details: { field: 'commonName' },
    });
  }
  const validity = validityFor(options.now, options.validityDays);
  const keys = await generateRsaKeyPair(options.keyBits ?? 3072);
  const serial = newSerial();

  const cert = forge.pki.createCertificate();
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(validity.notBefore);
  cert.validity.notAfter = new Date(validity.notAfter);
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  const name = [{ shortName: 'CN', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as number as forge.asn1.Class }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  const signed = await signForgeCertificate(cert, createPrivateKey(keys.privateKeyPem));
  return {
    certPem: signed.pem,
    keyPem: keys.privateKeyPem,
    serial,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    fingerprint: fingerprintOfDer(signed.der),
  };
}
