import { describe, expect, it } from 'vitest';
import { identityOf } from '../../src/domain/identity.js';
import { canonicalSerial } from '../../src/domain/serial.js';

describe('identityOf', () => {
  it.each([
    ['a device certificate', { CN: 'dev-1', O: 'Outpost device' }, { kind: 'device', deviceId: 'dev-1' }],
    ['an integration certificate', { CN: 'grafana', O: 'Outpost client', OU: 'integration' }, { kind: 'integration', name: 'grafana', role: 'integration' }],
  ])('recognizes %s', (_what, subject, expected) => {
    const result = identityOf({ subject, serialNumber: '0A1B' });
    expect(result).toMatchObject({ ok: true, identity: { ...expected, serial: '0a1b' } });
  });

  it.each([
    ['no certificate', undefined, 'NO_CERTIFICATE'],
    ['an empty serial', { subject: { CN: 'dev-1', O: 'Outpost device' }, serialNumber: '' }, 'NO_CERTIFICATE'],
    ['no CN', { subject: { O: 'Outpost device' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
    ['two CNs', { subject: { CN: ['dev-1', 'dev-2'], O: 'Outpost device' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
    ['a CN that is no device id', { subject: { CN: 'Dev_1', O: 'Outpost device' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
    ['another organization', { subject: { CN: 'dev-1', O: 'Acme' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
    ['a device certificate with an OU', { subject: { CN: 'dev-1', O: 'Outpost device', OU: 'integration' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
    ['a client certificate of another role', { subject: { CN: 'x', O: 'Outpost client', OU: 'admin' }, serialNumber: '01' }, 'IDENTITY_UNKNOWN'],
  ])('refuses %s', (_what, peer, code) => {
    expect(identityOf(peer)).toMatchObject({ ok: false, code });
  });
});

describe('canonicalSerial', () => {
  it.each([
    ['00A1B2', 'a1b2'],
    ['a1b2', 'a1b2'],
    ['0x0A:1B', '0a1b'],
    ['ABC', '0abc'],
    ['0000', '00'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalSerial(input)).toBe(expected);
  });
});
