import { sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { derToPem } from './der-to-pem.js';

/** The pieces of node-forge's x509 module that @types/node-forge leaves out. */
interface ForgeX509Internals {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

export const SHA256_WITH_RSA_OID = '1.2.840.113549.1.1.11';

/** Position of `issuer` in a v3 TBSCertificate: [0] version, serial, signature, issuer. */
const TBS_ISSUER_INDEX = 3;

/**
 * Signs a certificate built with node-forge using Node's native RSA (forge's own signing costs
 * ~50 ms): forge serialises the to-be-signed part, `crypto.sign` signs it on the libuv thread
 * pool, forge assembles the certificate. `cert` must be complete (subject, key, validity, extensions);
 * its signature fields are set here.
 *
 * `issuerName`, when given, is the DER of the issuer's subject, copied byte for byte into the
 * certificate: forge re-encodes names it parsed (and double-encodes non-ASCII UTF8String
 * values), while chain building compares a certificate's issuer with its CA's subject. Without
 * it the issuer is `cert.issuer` as forge encodes it (right for self-signed certificates).
 */
export async function signForgeCertificate(
  cert: forge.pki.Certificate,
  signingKey: KeyObject,
  issuerName?: Buffer,
): Promise<{ pem: string; der: Buffer }> {
  cert.siginfo.algorithmOid = SHA256_WITH_RSA_OID;
  cert.signatureOid = SHA256_WITH_RSA_OID;
  const tbs = (forge.pki as unknown as ForgeX509Internals).getTBSCertificate(cert);
  if (issuerName !== undefined) {
    const fields = tbs.value;
    if (!Array.isArray(fields) || fields.length <= TBS_ISSUER_INDEX) throw new Error('node-forge built an unexpected TBSCertificate');
    fields[TBS_ISSUER_INDEX] = forge.asn1.fromDer(issuerName.toString('binary'));
  }
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign('sha256', tbsDer, signingKey, (error, value) => {
      if (error !== null) reject(error);
      else resolve(value);
    });
  });
  cert.tbsCertificate = tbs;
  cert.signature = signature.toString('binary');
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { pem: derToPem('CERTIFICATE', der), der };
}
