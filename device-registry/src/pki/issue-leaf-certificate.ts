import { OutpostError } from '@outpost/protocol';
import forge from 'node-forge';
import { fingerprintOfDer } from './certificate-fingerprint.js';
import { prepareCertificateAuthority } from './prepare-certificate-authority.js';
import type { CertificateAuthorityInput } from './prepare-certificate-authority.js';
import { newSerial } from './new-serial.js';
import { rsaPublicKeyFromPem, spkiPem } from './rsa-public-key.js';
import { canonicalSerial } from './serial-number.js';
import { signForgeCertificate } from './sign-forge-certificate.js';
import type { IssuedCertificate } from './types.js';
import { validityFor } from './validity.js';

/** One subject attribute, by forge short name (`CN`, `O`, `OU`). */
export interface SubjectAttribute {
  readonly shortName: 'CN' | 'O' | 'OU';
  readonly value: string;
}

/** A subjectAltName entry: dNSName (2) or iPAddress (7, network-order bytes as a binary string). */
export interface AltName {
  readonly type: 2 | 7;
  readonly value: string;
}

export interface LeafOptions {
  readonly publicKeyPem: string;
  readonly subject: readonly SubjectAttribute[];
  readonly extendedKeyUsage: 'clientAuth' | 'serverAuth';
  readonly altNames?: readonly AltName[];
  readonly validityDays: number;
  readonly now: number;
  readonly serial?: string;
}

/**
 * The one code path for end-entity certificates (devices, integrations, the platform server):
 * basicConstraints CA:FALSE, keyUsage digitalSignature + keyEncipherment, one extended key
 * usage, subject and authority key identifiers, SHA-256 with RSA by the CA's key. The lifetime
 * is capped at the CA's notAfter; issuing from an expired CA throws REGISTRY_CA_EXPIRED.
 */
export async function issueLeafCertificate(ca: CertificateAuthorityInput, options: LeafOptions): Promise<IssuedCertificate> {
  const authority = prepareCertificateAuthority(ca);
  if (options.now >= authority.notAfter) {
    throw new OutpostError(
      'REGISTRY_CA_EXPIRED',
      `the CA ${JSON.stringify(authority.x509.subject)} expired at ${new Date(authority.notAfter).toISOString()}`,
      { status: 500 },
    );
  }
  const validity = validityFor(options.now, options.validityDays, authority.notAfter);
  const serial = options.serial === undefined ? newSerial() : canonicalSerial(options.serial);
  const publicKey = forgePublicKey(options.publicKeyPem);

  const cert = forge.pki.createCertificate();
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(validity.notBefore);
  cert.validity.notAfter = new Date(validity.notAfter);
  cert.publicKey = publicKey;
  cert.setSubject(
    options.subject.map((attribute) => ({
      shortName: attribute.shortName,
      value: attribute.value,
      valueTagClass: forge.asn1.Type.UTF8 as number as forge.asn1.Class,
    })),
  );
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', [options.extendedKeyUsage]: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authority.keyIdentifier.toString('binary') },
  ];
  if (options.altNames !== undefined && options.altNames.length > 0) {
    extensions.push({ name: 'subjectAltName', altNames: options.altNames.map((name) => ({ ...name })) });
  }
  cert.setExtensions(extensions);

  const signed = await signForgeCertificate(cert, authority.privateKey, authority.subjectName);
  return {
    certPem: signed.pem,
    serial,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    fingerprint: fingerprintOfDer(signed.der),
  };
}

/**
 * Node checks the key (RSA, 2048..8192 bits; VALIDATION_FAILED otherwise), forge embeds it. Forge
 * reads SPKI and PKCS#1 PEM directly; anything else Node accepts (a certificate PEM, say) goes
 * through Node's SPKI export — the slower path, since OpenSSL 3's export costs about a millisecond.
 */
function forgePublicKey(pem: string): forge.pki.rsa.PublicKey {
  const key = rsaPublicKeyFromPem(pem);
  try {
    return forge.pki.publicKeyFromPem(pem);
  } catch {
    return forge.pki.publicKeyFromPem(spkiPem(key));
  }
}
