import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import forge from 'node-forge';
import { renewalSigningBytes } from '@outpost/protocol';

export interface TestKey {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/** An RSA key made by Node (PKCS#1 private key, SPKI public key). */
export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** A PKCS#10 CSR over `key`, built with node-forge as the agent does. */
export function csrFor(key: TestKey, commonName?: string): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
  csr.setSubject(commonName === undefined ? [{ name: 'organizationName', value: 'test' }] : [{ name: 'commonName', value: commonName }]);
  csr.sign(forge.pki.privateKeyFromPem(key.privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

/** The same CSR with one byte of its signature flipped. */
export function tamperedCsr(pem: string): string {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  const at = der.length - 10;
  der[at] = (der[at] ?? 0) ^ 0xff;
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** An EC (P-256) CSR from the openssl CLI: a key type the platform does not accept. */
export function ecCsr(): string {
  return execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=ec-device', '-keyout', '/dev/null'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** A grace-period renewal request signed with the device's current key (SPEC "Listeners"). */
export function signedRenewal(key: TestKey, fields: { deviceId: string; csr: string; ts: number }): { v: 1; deviceId: string; csr: string; ts: number; sig: string } {
  const request = { v: 1 as const, ...fields };
  const sig = sign('sha256', renewalSigningBytes(request), key.privateKeyPem).toString('base64');
  return { ...request, sig };
}

/** A small pool of keys, made once per test file (key generation is what is slow). */
export function keyPool(size: number): TestKey[] {
  return Array.from({ length: size }, () => rsaKey());
}

/** A self-signed certificate over `key` (not issued by the platform). */
export function selfSignedCertificate(key: TestKey, commonName: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer([{ name: 'commonName', value: commonName }]);
  cert.sign(forge.pki.privateKeyFromPem(key.privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
