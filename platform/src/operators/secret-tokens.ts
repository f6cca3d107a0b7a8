import { createHash, randomBytes } from 'node:crypto';

/** Kinds of bearer token; the prefix tells them apart in logs and leaked-secret scanners. */
export const TOKEN_PREFIX = { session: 'ops_', stream: 'opst_', api: 'opa_' } as const;
export type TokenKind = keyof typeof TOKEN_PREFIX;

export function newSecretToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** Tokens are stored only as this hash; a database dump reveals no usable token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newId(bytes = 9): string {
  return randomBytes(bytes).toString('base64url');
}
