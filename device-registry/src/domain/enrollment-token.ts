import { OutpostError } from '@outpost/protocol';

/** An enrollment token as stored (the secret itself is never stored, only its hash). */
export interface EnrollmentToken {
  readonly id: string;
  readonly group: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly deviceIdPrefix: string | null;
  readonly maxUses: number;
  readonly uses: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly createdBy: string;
  readonly createdAt: number;
}

export type TokenState = 'active' | 'expired' | 'used-up' | 'revoked';

/** A token's state at `now`; a revoked token reads as revoked whatever else is true. */
export function tokenState(token: EnrollmentToken, now: number): TokenState {
  if (token.revokedAt !== null) return 'revoked';
  if (now >= token.expiresAt) return 'expired';
  if (token.uses >= token.maxUses) return 'used-up';
  return 'active';
}

/**
 * Whether `token` admits an enrollment at `now`. A retry (same token, same CSR key as an
 * earlier enrollment) is exempt from the use count only: it gets the same device back, so it
 * must not fail because its own first attempt used the last use.
 */
export function checkEnrollmentToken(token: EnrollmentToken | undefined, now: number, options: { retry: boolean }): OutpostError | undefined {
  if (token === undefined) {
    return new OutpostError('ENROLL_TOKEN_UNAUTHENTICATED', 'the enrollment token is unknown: check it was copied whole, or create a new one');
  }
  const state = tokenState(token, now);
  switch (state) {
    case 'revoked':
      return new OutpostError('ENROLL_TOKEN_REVOKED', `enrollment token ${token.id} was revoked; ask an operator for a new one`, { status: 403 });
    case 'expired':
      return new OutpostError('ENROLL_TOKEN_EXPIRED', `enrollment token ${token.id} expired at ${new Date(token.expiresAt).toISOString()}; ask an operator for a new one`, {
        status: 403,
      });
    case 'used-up':
      return options.retry
        ? undefined
        : new OutpostError('ENROLL_TOKEN_USED_UP', `enrollment token ${token.id} was used ${token.uses} of ${token.maxUses} times; ask an operator for a new one`, { status: 403 });
    case 'active':
      return undefined;
  }
}
