import { createCipheriv, randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import {
  SEALED_KEY_AAD,
  SEALED_KEY_CIPHER,
  SEALED_KEY_IV_BYTES,
  SEALED_KEY_SECRET_BYTES,
  SEALED_KEY_TAG_BYTES,
  SEALED_KEY_VERSION,
} from './sealed-key-format.js';

/**
 * Encrypts a private key PEM for storage at rest with AES-256-GCM under a 32-byte secret, a
 * random 12-byte IV and the AAD `outpost-key-v1`:
 * `v1.` + base64url(iv) + `.` + base64url(tag) + `.` + base64url(ciphertext).
 * Throws REGISTRY_KEY_SECRET_INVALID (500) when the secret is not 32 bytes.
 */
export function sealPrivateKey(pem: string, secretKey: Buffer): string {
  if (secretKey.length !== SEALED_KEY_SECRET_BYTES) {
    throw new OutpostError('REGISTRY_KEY_SECRET_INVALID', `the key-sealing secret must be ${SEALED_KEY_SECRET_BYTES} bytes, got ${secretKey.length}`, {
      status: 500,
    });
  }
  const iv = randomBytes(SEALED_KEY_IV_BYTES);
  const cipher = createCipheriv(SEALED_KEY_CIPHER, secretKey, iv, { authTagLength: SEALED_KEY_TAG_BYTES });
  cipher.setAAD(SEALED_KEY_AAD);
  const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [SEALED_KEY_VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}
