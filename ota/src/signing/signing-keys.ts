/**
 * OTA signing keys (SPEC "OTA"): Ed25519 with Node's crypto. The private key is the operator's
 * and lives in a PKCS#8 PEM file, encrypted with a passphrase (AES-256-CBC, scrypt-free: the
 * PEM encryption OpenSSL reads) unless the operator asks otherwise; the server only ever holds
 * public keys. A key's id is `sha256:` + the first 16 bytes (32 hex digits) of the SHA-256 of
 * its public key's SPKI DER: derived, so a TrustSet entry whose id does not match its key is
 * refused, and two different keys never share an id by accident.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

/** An Ed25519 public key as a TrustSet carries it. */
export interface PublicSigningKey {
  readonly keyId: string;
  readonly alg: 'ed25519';
  /** Base64 of the SPKI DER encoding. */
  readonly publicKey: string;
}

/** A private signing key read from its file, with its public half. */
export interface SigningKey extends PublicSigningKey {
  readonly privateKey: KeyObject;
}

/** `sha256:` + 32 hex digits of the SHA-256 of an SPKI DER public key. */
export function keyIdOf(spkiDer: Buffer): string {
  return `sha256:${createHash('sha256').update(spkiDer).digest('hex').slice(0, 32)}`;
}

/** A new key pair; its private half as PKCS#8 PEM, encrypted when a passphrase is given. */
export function createSigningKeyPem(passphrase: string | undefined): { pem: string; key: PublicSigningKey } {
  const pair = generateKeyPairSync('ed25519');
  const pem =
    passphrase === undefined
      ? pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      : pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
  return { pem, key: publicKeyOf(pair.publicKey) };
}

/** Whether a PEM private key is passphrase-encrypted. */
export function isEncryptedPem(pem: string): boolean {
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----');
}

/** The signing key in a PEM; OTA_KEY_FILE_INVALID when it is not an Ed25519 private key or the passphrase is wrong. */
export function readSigningKeyPem(pem: string, passphrase: string | undefined): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
  } catch (err) {
    const reason = isEncryptedPem(pem) ? 'the passphrase is wrong (or the file is damaged)' : 'it is not a PEM private key';
    throw new OutpostError('OTA_KEY_FILE_INVALID', `cannot read the signing key: ${reason}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new OutpostError('OTA_KEY_FILE_INVALID', `the signing key is ${privateKey.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  return { ...publicKeyOf(createPublicKey(privateKey)), privateKey };
}

export function publicKeyOf(key: KeyObject): PublicSigningKey {
  const der = key.export({ type: 'spki', format: 'der' });
  return { keyId: keyIdOf(der), alg: 'ed25519', publicKey: der.toString('base64') };
}

/**
 * The public key of a TrustSet entry, checked: base64 of an Ed25519 SPKI DER whose id is
 * `keyId`. Throws OTA_TRUST_SET_INVALID saying what is wrong.
 */
export function importPublicKey(entry: { readonly keyId: string; readonly alg: string; readonly publicKey: string }): KeyObject {
  if (entry.alg !== 'ed25519') throw new OutpostError('OTA_TRUST_SET_INVALID', `key ${entry.keyId}: alg ${entry.alg} is not ed25519`);
  const der = Buffer.from(entry.publicKey, 'base64');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new OutpostError('OTA_TRUST_SET_INVALID', `key ${entry.keyId}: publicKey is not a base64 SPKI DER public key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new OutpostError('OTA_TRUST_SET_INVALID', `key ${entry.keyId}: the public key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  const derived = keyIdOf(key.export({ type: 'spki', format: 'der' }));
  if (derived !== entry.keyId) throw new OutpostError('OTA_TRUST_SET_INVALID', `key ${entry.keyId}: its id must be ${derived} (sha256: and the first 16 bytes of the SHA-256 of the SPKI DER, in hex)`);
  return key;
}

/** Base64 Ed25519 signature of `bytes`. */
export function signBytes(key: SigningKey, bytes: Uint8Array): string {
  return sign(null, bytes, key.privateKey).toString('base64');
}

/** Whether `sig` (base64) is an Ed25519 signature of `bytes` by `key`; never throws. */
export function verifyBytes(key: KeyObject, bytes: Uint8Array, sig: string): boolean {
  try {
    return verify(null, bytes, key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}
