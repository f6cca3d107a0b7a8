/** Test keys, CSRs and a foreign CA (node-forge for building, Node crypto for keys). */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export function rsaKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function csrFor(keys: KeyPair, commonName: string): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  csr.setSubject([{ name: 'commonName', value: commonName }]);
  csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

interface Subject {
  readonly CN: string;
  readonly O?: string;
  readonly OU?: string;
}

function subjectOf(subject: Subject): forge.pki.CertificateField[] {
  const fields: forge.pki.CertificateField[] = [{ name: 'commonName', value: subject.CN }];
  if (subject.O !== undefined) fields.push({ name: 'organizationName', value: subject.O });
  if (subject.OU !== undefined) fields.push({ name: 'organizationalUnitName', value: subject.OU });
  return fields;
}

/** A self-signed CA nobody trusts, and a client certificate it signs (looks like a device's). */
export function foreignClientCertificate(subject: Subject): { caPem: string; certPem: string; keyPem: string } {
  const caKeys = rsaKeyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = forge.pki.publicKeyFromPem(caKeys.publicKeyPem);
  ca.serialNumber = `01${randomBytes(8).toString('hex')}`;
  ca.validity.notBefore = new Date(Date.now() - 3_600_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  ca.setSubject(subjectOf({ CN: 'Foreign CA' }));
  ca.setIssuer(subjectOf({ CN: 'Foreign CA' }));
  ca.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]);
  const caKey = forge.pki.privateKeyFromPem(caKeys.privateKeyPem) as forge.pki.rsa.PrivateKey;
  ca.sign(caKey, forge.md.sha256.create());

  const leafKeys = rsaKeyPair();
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = forge.pki.publicKeyFromPem(leafKeys.publicKeyPem);
  leaf.serialNumber = `02${randomBytes(8).toString('hex')}`;
  leaf.validity.notBefore = new Date(Date.now() - 3_600_000);
  leaf.validity.notAfter = new Date(Date.now() + 86_400_000);
  leaf.setSubject(subjectOf(subject));
  leaf.setIssuer(subjectOf({ CN: 'Foreign CA' }));
  leaf.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }]);
  leaf.sign(caKey, forge.md.sha256.create());
  return { caPem: forge.pki.certificateToPem(ca), certPem: forge.pki.certificateToPem(leaf), keyPem: leafKeys.privateKeyPem };
}
