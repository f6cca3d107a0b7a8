/**
 * The device key and its certificate signing request (SPEC "Identity"): RSA-2048 made on the
 * device with Node's crypto, the CSR built with node-forge, signed with SHA-256. The key is
 * kept across renewals, so a renewal whose answer got lost can always be repeated: the
 * platform's latest certificate always carries a key the device holds.
 *
 * node-forge (a large library) is loaded only when a CSR is built — enrollment and renewal —
 * so a running agent whose certificate is not due never holds it in memory.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, sign } from 'node:crypto';
import { promisify } from 'node:util';
import type forgeModule from 'node-forge';
import { OutpostError } from '@outpost/protocol';

const generateKeyPairAsync = promisify(generateKeyPair);

export const DEVICE_KEY_BITS = 2048;

/** A new RSA-2048 private key, PKCS#8 PEM. */
export async function generateDeviceKey(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: DEVICE_KEY_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

type Forge = typeof forgeModule;

/** node-forge, loaded on first use. */
async function loadForge(): Promise<Forge> {
  return (await import('node-forge')).default;
}

/** A PEM CSR for `keyPem`, CN = `commonName` when given (else the platform assigns the id). */
export async function createCsr(keyPem: string, commonName?: string): Promise<string> {
  const forge = await loadForge();
  let privateKey: forgeModule.pki.rsa.PrivateKey;
  let publicKey: forgeModule.pki.rsa.PublicKey;
  try {
    const pkcs1 = createPrivateKey(keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    privateKey = forge.pki.privateKeyFromPem(pkcs1);
    publicKey = forge.pki.publicKeyFromPem(createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString());
  } catch (err) {
    throw new OutpostError('AGENT_KEY_INVALID', `the device key cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicKey;
  csr.setSubject(commonName === undefined ? [] : [{ name: 'commonName', value: commonName }]);
  csr.sign(privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

/** Base64 RSA PKCS#1 v1.5 SHA-256 signature of `data` (what the platform verifies for signed renewals). */
export function signWithDeviceKey(keyPem: string, data: Uint8Array): string {
  return sign('sha256', data, keyPem).toString('base64');
}
