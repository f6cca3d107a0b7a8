import { describe, expect, it } from 'vitest';
import { checkEnrollmentToken, tokenState, type EnrollmentToken } from '../../src/domain/enrollment-token.js';

const NOW = Date.UTC(2026, 0, 1);
const base: EnrollmentToken = {
  id: 'et_1',
  group: 'lab',
  tags: {},
  deviceIdPrefix: null,
  maxUses: 3,
  uses: 0,
  expiresAt: NOW + 60_000,
  revokedAt: null,
  createdBy: 'admin',
  createdAt: NOW - 1000,
};

describe('enrollment token rules', () => {
  const cases: [string, Partial<EnrollmentToken>, ReturnType<typeof tokenState>, string | undefined, string | undefined][] = [
    // name, change, state, code for a new enrollment, code for a retry
    ['a fresh token', {}, 'active', undefined, undefined],
    ['a token with one use left', { uses: 2 }, 'active', undefined, undefined],
    ['a used-up token', { uses: 3 }, 'used-up', 'ENROLL_TOKEN_USED_UP', undefined],
    ['a token expiring right now', { expiresAt: NOW }, 'expired', 'ENROLL_TOKEN_EXPIRED', 'ENROLL_TOKEN_EXPIRED'],
    ['a revoked token', { revokedAt: NOW - 1 }, 'revoked', 'ENROLL_TOKEN_REVOKED', 'ENROLL_TOKEN_REVOKED'],
    ['a revoked, expired, used-up token', { revokedAt: NOW - 1, expiresAt: NOW - 1, uses: 3 }, 'revoked', 'ENROLL_TOKEN_REVOKED', 'ENROLL_TOKEN_REVOKED'],
    ['an expired, used-up token', { expiresAt: NOW - 1, uses: 3 }, 'expired', 'ENROLL_TOKEN_EXPIRED', 'ENROLL_TOKEN_EXPIRED'],
  ];
  for (const [name, change, state, code, retryCode] of cases) {
    it(`${name}: ${state}, enrollment ${code ?? 'allowed'}, retry ${retryCode ?? 'allowed'}`, () => {
      const token = { ...base, ...change };
      expect(tokenState(token, NOW)).toBe(state);
      expect(checkEnrollmentToken(token, NOW, { retry: false })?.code).toBe(code);
      expect(checkEnrollmentToken(token, NOW, { retry: true })?.code).toBe(retryCode);
    });
  }

  it('answers 401 for an unknown token and 403 for the others', () => {
    expect(checkEnrollmentToken(undefined, NOW, { retry: false })).toMatchObject({ code: 'ENROLL_TOKEN_UNAUTHENTICATED' });
    expect(checkEnrollmentToken({ ...base, uses: 3 }, NOW, { retry: false })?.status).toBe(403);
    expect(checkEnrollmentToken({ ...base, expiresAt: 0 }, NOW, { retry: false })?.status).toBe(403);
    expect(checkEnrollmentToken({ ...base, revokedAt: 1 }, NOW, { retry: false })?.status).toBe(403);
  });
});
