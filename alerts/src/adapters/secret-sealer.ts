/**
 * Webhook HMAC secrets at rest (issue 11, D7): sealed with AES-256-GCM under a key derived
 * from the platform secret key (HKDF-SHA256, its own `info`, so it is not the key that seals
 * the CA), a random 12-byte IV and the channel id as additional data (a sealed secret copied
 * to another channel does not open). Stored as `sealed:v1.<iv>.<tag>.<ciphertext>`
 * (base64url); anything without the prefix is a plaintext row from before sealing.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

const PREFIX = 'sealed:v1.';
const INFO = 'outpost alerts webhook secret v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretSealer {
  seal(channelId: string, secret: string): string;
  open(channelId: string, stored: string): string;
  isSealed(stored: string): boolean;
}

export function createSecretSealer(platformSecretKey: Buffer): SecretSealer {
  if (platformSecretKey.length !== 32) throw new OutpostError('ALERTS_SECRET_KEY_INVALID', `the platform secret key must be 32 bytes, got ${platformSecretKey.length}`, { status: 500 });
  const key = Buffer.from(hkdfSync('sha256', platformSecretKey, Buffer.alloc(0), INFO, 32));
  return {
    isSealed: (stored) => stored.startsWith(PREFIX),
    seal(channelId, secret) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(channelId, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${PREFIX}${[iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url')).join('.')}`;
    },
    open(channelId, stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, tag, ciphertext] = stored.slice(PREFIX.length).split('.').map((part) => Buffer.from(part, 'base64url'));
      if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined) {
        throw new OutpostError('ALERTS_SECRET_UNREADABLE', `the webhook secret of channel ${channelId} is damaged: set a new one with PUT /api/v1/channels/${channelId}`, { status: 500 });
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(channelId, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new OutpostError(
          'ALERTS_SECRET_UNREADABLE',
          `the webhook secret of channel ${channelId} does not open: the platform secret key changed or the row was altered; set a new one with PUT /api/v1/channels/${channelId}`,
          { status: 500, cause },
        );
      }
    },
  };
}
