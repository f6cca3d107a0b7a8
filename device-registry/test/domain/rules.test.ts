import { describe, expect, it } from 'vitest';
import { assignedDeviceId, deviceIdPrefix, isDeviceId, requestedDeviceId } from '../../src/domain/device-id.js';
import { likeContains, parseFirmwareFilter, parseTagFilter } from '../../src/domain/device-query.js';
import { RateLimiter } from '../../src/domain/rate-limiter.js';
import { certificateValidity, checkGraceRenewal, renewAfter } from '../../src/domain/renewal-rules.js';
import { normalizeSerial } from '../../src/domain/serial.js';

const DAY = 86_400_000;

describe('device ids', () => {
  it.each([
    ['Lab_Pis', null, 'lab-pis'],
    ['greenhouse', 'gh', 'gh'],
    ['__', null, 'device'],
    ['A..B', null, 'a-b'],
  ])('prefix of group %s (token prefix %s) is %s', (group, explicit, prefix) => {
    expect(deviceIdPrefix(group, explicit)).toBe(prefix);
  });

  it('keeps assigned ids valid and within 64 characters', () => {
    const id = assignedDeviceId('x'.repeat(80), 'deadbeef');
    expect(id).toHaveLength(64);
    expect(isDeviceId(id)).toBe(true);
    expect(assignedDeviceId('lab', '0a1b2c3d')).toBe('lab-0a1b2c3d');
  });

  it('takes the explicit id, else a valid CN, else none', () => {
    expect(requestedDeviceId('pi-1', 'other-cn')).toBe('pi-1');
    expect(requestedDeviceId(undefined, 'pi-cn')).toBe('pi-cn');
    expect(requestedDeviceId(undefined, 'Has Spaces')).toBeUndefined();
    expect(requestedDeviceId(undefined, 'ab')).toBeUndefined();
    expect(requestedDeviceId(undefined, undefined)).toBeUndefined();
  });
});

describe('renewal rules', () => {
  it('renews after two thirds of the lifetime', () => {
    expect(renewAfter(0, 90 * DAY)).toBe(60 * DAY);
  });

  const now = 1_000 * DAY;
  it.each([
    ['in date', now, now + DAY, 10, undefined],
    ['expired yesterday', now, now - DAY, 10, undefined],
    ['expired exactly at the grace limit', now, now - 10 * DAY, 10, undefined],
    ['expired past the grace', now, now - 10 * DAY - 1, 10, 'RENEW_GRACE_EXPIRED'],
    ['ts 5 min ahead', now + 5 * 60_000, now, 10, undefined],
    ['ts 5 min and 1 ms behind', now - 5 * 60_000 - 1, now, 10, 'RENEW_CLOCK_SKEW'],
  ])('grace renewal, certificate %s', (_name, ts, certNotAfter, graceDays, code) => {
    expect(checkGraceRenewal({ ts, now, certNotAfter, graceDays })?.code).toBe(code);
  });

  it('reads a certificate as valid, expired, not yet valid or revoked', () => {
    expect(certificateValidity({ notBefore: 0, notAfter: 10, revokedAt: null }, 5)).toBe('valid');
    expect(certificateValidity({ notBefore: 0, notAfter: 10, revokedAt: null }, 10)).toBe('expired');
    expect(certificateValidity({ notBefore: 6, notAfter: 10, revokedAt: null }, 5)).toBe('not-yet-valid');
    expect(certificateValidity({ notBefore: 0, notAfter: 10, revokedAt: 3 }, 5)).toBe('revoked');
  });
});

describe('serials', () => {
  it.each([
    ['0A1B', '0a1b'],
    ['a1b', '0a1b'],
    ['0x00:0a:1b', '0a1b'],
    ['7f00', '7f00'],
    ['0', '00'],
  ])('%s → %s', (input, canonical) => {
    expect(normalizeSerial(input)).toBe(canonical);
  });
});

describe('device query parsing', () => {
  it('parses tag filters and refuses a bad key', () => {
    expect(parseTagFilter('site=north')).toEqual({ key: 'site', value: 'north' });
    expect(parseTagFilter('site')).toEqual({ key: 'site' });
    expect(parseTagFilter('k=a=b')).toEqual({ key: 'k', value: 'a=b' });
    expect(() => parseTagFilter('$.x=1')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('parses firmware filters', () => {
    expect(parseFirmwareFilter('core@1.2.3')).toEqual({ name: 'core', version: '1.2.3' });
    expect(parseFirmwareFilter('1.2.3')).toEqual({ either: '1.2.3' });
  });

  it('escapes LIKE wildcards', () => {
    expect(likeContains('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });
});

describe('rate limiter', () => {
  it('allows the limit per window and key, then says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 2, windowMs: 1000, now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('b')]).toEqual([0, 0, 0]);
    now = 400;
    expect(limiter.take('a')).toBe(600);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('tracks a bounded number of keys', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000, now: () => 0, maxKeys: 2 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.take('a')).toBe(0); // forgotten, so counted afresh
  });
});
