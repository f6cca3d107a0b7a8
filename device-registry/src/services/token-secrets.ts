import { createHash, randomBytes } from 'node:crypto';

/** Enrollment token secrets: `oet_` + 32 random bytes (base64url); stored only as sha256. */
export const ENROLLMENT_TOKEN_PREFIX = 'oet_';

export function newTokenSecret(): string {
  return `${ENROLLMENT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newTokenId(): string {
  return `et_${randomBytes(8).toString('hex')}`;
}

/** The random part of an assigned device id (8 lower-case hex characters). */
export function randomIdSuffix(): string {
  return randomBytes(4).toString('hex');
}
