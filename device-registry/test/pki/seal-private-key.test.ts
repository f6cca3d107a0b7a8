import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OutpostError } from '@outpost/protocol';
import { openPrivateKey, sealPrivateKey } from '../../src/pki/index.js';

const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

/** Replaces one character of part `index` (1 = iv, 2 = tag, 3 = ciphertext) with another base64url character. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const part = parts[index] ?? '';
  parts[index] = `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
  return parts.join('.');
}

function decryptError(action: () => unknown): OutpostError {
  try {
    action();
  } catch (error) {
    if (error instanceof OutpostError) return error;
    throw error;
  }
  throw new Error('expected openPrivateKey to throw');
}

describe('sealPrivateKey / openPrivateKey', () => {
  const secret = randomBytes(32);

  it('round-trips a key', () => {
    expect(openPrivateKey(sealPrivateKey(pem, secret), secret)).toBe(pem);
  });

  it('writes v1.iv.tag.ciphertext in base64url: a 12-byte IV and a 16-byte tag', () => {
    const sealed = sealPrivateKey(pem, secret);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    const [, iv, tag] = sealed.split('.');
    expect(Buffer.from(iv ?? '', 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag ?? '', 'base64url')).toHaveLength(16);
    expect(sealed).not.toContain('PRIVATE KEY');
  });

  it('uses a fresh IV every time', () => {
    expect(sealPrivateKey(pem, secret)).not.toBe(sealPrivateKey(pem, secret));
  });

  it('binds the ciphertext to the AAD "outpost-key-v1"', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secret, iv);
    cipher.setAAD(Buffer.from('outpost-key-v1'));
    const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    const withAad = ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    expect(openPrivateKey(withAad, secret)).toBe(pem);

    const bare = createCipheriv('aes-256-gcm', secret, iv);
    const bareCiphertext = Buffer.concat([bare.update(pem, 'utf8'), bare.final()]);
    const withoutAad = ['v1', iv.toString('base64url'), bare.getAuthTag().toString('base64url'), bareCiphertext.toString('base64url')].join('.');
    expect(decryptError(() => openPrivateKey(withoutAad, secret)).code).toBe('REGISTRY_KEY_DECRYPT_FAILED');
  });

  it('refuses the wrong secret with REGISTRY_KEY_DECRYPT_FAILED and a clear message', () => {
    const error = decryptError(() => openPrivateKey(sealPrivateKey(pem, secret), randomBytes(32)));
    expect(error.code).toBe('REGISTRY_KEY_DECRYPT_FAILED');
    expect(error.message).toMatch(/wrong secret, or the data was altered/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it.each([
    ['the IV', 1],
    ['the tag', 2],
    ['the ciphertext', 3],
  ])('refuses a sealed key whose %s was altered', (_label, index) => {
    expect(decryptError(() => openPrivateKey(tamper(sealPrivateKey(pem, secret), index), secret)).code).toBe('REGISTRY_KEY_DECRYPT_FAILED');
  });

  it.each([
    ['an empty string', ''],
    ['another version', 'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['too few parts', 'v1.AAAAAAAAAAAAAAAA.AAAA'],
    ['a short IV', 'v1.AAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['characters outside base64url', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA+/'],
    ['a plain PEM', pem],
  ])('refuses %s as not a sealed key', (_label, sealed) => {
    const error = decryptError(() => openPrivateKey(sealed, secret));
    expect(error.code).toBe('REGISTRY_KEY_DECRYPT_FAILED');
    expect(error.message).toMatch(/not a sealed key/);
  });

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => sealPrivateKey(pem, randomBytes(16))).toThrow(expect.objectContaining({ code: 'REGISTRY_KEY_SECRET_INVALID' }));
    expect(decryptError(() => openPrivateKey(sealPrivateKey(pem, secret), randomBytes(31))).code).toBe('REGISTRY_KEY_DECRYPT_FAILED');
  });
});
