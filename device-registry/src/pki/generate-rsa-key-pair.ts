import { generateKeyPair } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import { MAX_RSA_BITS, MIN_RSA_BITS } from './rsa-public-key.js';
import type { RsaKeyPair } from './types.js';

/**
 * A new RSA key pair (exponent 65537) made by Node's native crypto off the main thread: the
 * public key as SPKI PEM, the private key as PKCS#8 PEM. Throws VALIDATION_FAILED for a size
 * outside 2048..8192 or not a multiple of 8.
 */
export async function generateRsaKeyPair(bits = 2048): Promise<RsaKeyPair> {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS || bits % 8 !== 0) {
    throw new OutpostError('VALIDATION_FAILED', `RSA key size must be a multiple of 8 in ${MIN_RSA_BITS}..${MAX_RSA_BITS}, got ${String(bits)}`, {
      details: { field: 'bits' },
    });
  }
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 0x10001,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (error, publicKeyPem, privateKeyPem) => {
        if (error !== null) reject(error);
        else resolve({ publicKeyPem, privateKeyPem });
      },
    );
  });
}
