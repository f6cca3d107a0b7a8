import { createDecipheriv } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import {
  SEALED_KEY_AAD,
  SEALED_KEY_CIPHER,
  SEALED_KEY_IV_BYTES,
  SEALED_KEY_SECRET_BYTES,
  SEALED_KEY_TAG_BYTES,
  SEALED_KEY_VERSION,
} from './sealed-key-format.js';

const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Decrypts what sealPrivateKey made. Throws REGISTRY_KEY_DECRYPT_FAILED (status 500: the
 * platform's own data or secret is at fault) when the input is not a v1 sealed key, the secret
 * is wrong, or the data was altered — GCM cannot tell the last two apart.
 */
export function openPrivateKey(sealed: string, secretKey: Buffer): string {
  if (secretKey.length !== SEALED_KEY_SECRET_BYTES) {
    throw decryptFailed(`the key-sealing secret must be ${SEALED_KEY_SECRET_BYTES} bytes, got ${secretKey.length}`);
  }
  const parts = sealed.split('.');
  const [version, ivText, tagText, ciphertextText] = parts;
  if (parts.length !== 4 || version !== SEALED_KEY_VERSION) {
    throw decryptFailed(`not a sealed key: expected "${SEALED_KEY_VERSION}.<iv>.<tag>.<ciphertext>"`);
  }
  if (![ivText, tagText, ciphertextText].every((part) => part !== undefined && BASE64URL_RE.test(part))) {
    throw decryptFailed('not a sealed key: a part is empty or not base64url');
  }
  const iv = Buffer.from(ivText ?? '', 'base64url');
  const tag = Buffer.from(tagText ?? '', 'base64url');
  const ciphertext = Buffer.from(ciphertextText ?? '', 'base64url');
  if (iv.length !== SEALED_KEY_IV_BYTES || tag.length !== SEALED_KEY_TAG_BYTES) {
    throw decryptFailed(`not a sealed key: the IV must be ${SEALED_KEY_IV_BYTES} bytes and the tag ${SEALED_KEY_TAG_BYTES}`);
  }
  try {
    const decipher = createDecipheriv(SEALED_KEY_CIPHER, secretKey, iv, { authTagLength: SEALED_KEY_TAG_BYTES });
    decipher.setAAD(SEALED_KEY_AAD);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw decryptFailed('the sealed key does not open: wrong secret, or the data was altered', cause);
  }
}

function decryptFailed(message: string, cause?: unknown): OutpostError {
  return new OutpostError('REGISTRY_KEY_DECRYPT_FAILED', message, { cause, status: 500 });
}
