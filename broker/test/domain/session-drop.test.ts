import type { RegistryEvent } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { dropOf, expiryDrop, invalidatesIdentity, serialDrop } from '../../src/domain/session-drop.js';

const session = { deviceId: 'dev-1', serial: '0a1b' };
const event = (type: RegistryEvent['type'], extra: Partial<RegistryEvent> = {}): RegistryEvent => ({ v: 1, type, deviceId: 'dev-1', at: 0, ...extra });

describe('dropOf (a device session)', () => {
  it.each([
    ['suspended', event('suspended'), { code: 'DEVICE_SUSPENDED', reason: 'device suspended' }],
    ['revoked', event('revoked'), { code: 'DEVICE_REVOKED', reason: 'device revoked' }],
    ['deleted', event('deleted'), { code: 'DEVICE_DELETED', reason: 'device deleted' }],
    ['cert-revoked of its serial (any case)', event('cert-revoked', { serial: '0A1B' }), { code: 'CERT_REVOKED', reason: 'certificate 0a1b revoked' }],
    ['cert-revoked of another serial', event('cert-revoked', { serial: 'ff' }), undefined],
    ['resumed', event('resumed'), undefined],
    ['config-changed', event('config-changed'), undefined],
    ['another device', { ...event('revoked'), deviceId: 'dev-2' }, undefined],
  ])('%s', (_what, e, expected) => {
    expect(dropOf(e, session)).toEqual(expected);
  });
});

describe('serialDrop (any session on a serial, e.g. an integration)', () => {
  it.each([
    ['cert-revoked of that serial, whatever the device id', { ...event('cert-revoked', { serial: '00:0A:1B' }), deviceId: 'someone-else' }, 'CERT_REVOKED'],
    ['cert-revoked of another serial', event('cert-revoked', { serial: '0a1c' }), undefined],
    ['a device-level revoke', event('revoked'), undefined],
  ])('%s', (_what, e, code) => {
    expect(serialDrop(e, '0a1b')?.code).toBe(code);
  });
});

it('expiryDrop names the serial and the instant', () => {
  expect(expiryDrop('0a1b', Date.UTC(2030, 0, 2, 3, 4, 5))).toEqual({ code: 'CERT_EXPIRED', reason: 'certificate 0a1b expired at 2030-01-02T03:04:05.000Z' });
});

describe('invalidatesIdentity', () => {
  it.each([
    ['suspended', true],
    ['resumed', true],
    ['cert-revoked', true],
    ['renewed', true],
    ['config-changed', false],
    ['command-created', false],
    ['tags-changed', false],
  ] as const)('%s → %s', (type, expected) => {
    expect(invalidatesIdentity(event(type))).toBe(expected);
  });
});
